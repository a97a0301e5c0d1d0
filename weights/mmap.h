// A read-only memory map of a whole file, or the same view over bytes held in memory; and
// heap memory for buffers streamed in full (huge pages).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lm {

class MappedFile {
public:
    explicit MappedFile(const std::string& path);  // throws lm::Error naming the file
    // The whole regular file open as `fd` (the caller closes it; the mapping stays valid, also
    // when the file has been unlinked), `name` in messages.
    MappedFile(const std::string& name, int fd);
    // A copy of `bytes` named `name` in messages, so parsers can read from memory (tests,
    // fuzzers). Aligned like a mapping, and exactly as long as `bytes`.
    MappedFile(const std::string& name, std::string_view bytes);
    // A view of bytes that outlive it (a model linked into the binary): nothing is copied.
    static std::shared_ptr<const MappedFile> borrow(const std::string& name, std::string_view bytes);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

    // Done with [p, p + n) for now: of a mapped file, the whole pages in the range leave this
    // process's resident memory (the kernel's page cache may keep them; touching them again
    // reads them back, so the bytes never change). Memory held any other way, and ranges
    // outside this file, are left alone.
    void release(const void* p, size_t n) const;

private:
    std::string path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    enum class Source { mapped, owned, borrowed } source_ = Source::mapped;
    MappedFile() = default;
};

// Heap memory for large buffers read from end to end on every token (repacked weights) or
// timed that way (the bandwidth probe). From 2 MiB on, blocks are 2 MiB aligned and advised
// to Linux as transparent huge pages: streaming them then needs no page walks, and the
// hardware prefetchers are not stopped at every 4 KiB page (+4-5 % read rate measured for
// the decode kernels). alloc_streamed throws std::bad_alloc when out of memory.
void* alloc_streamed(size_t bytes);
void free_streamed(void* p) noexcept;

// alloc_streamed memory held until it goes out of scope, its bytes left as they came.
struct StreamedFree {
    void operator()(void* p) const noexcept { free_streamed(p); }
};
using StreamedBuffer = std::unique_ptr<uint8_t[], StreamedFree>;

template <class T>
struct StreamedAllocator {
    using value_type = T;
    StreamedAllocator() = default;
    template <class U>
    StreamedAllocator(const StreamedAllocator<U>&) {}
    T* allocate(size_t n) { return static_cast<T*>(alloc_streamed(n * sizeof(T))); }
    void deallocate(T* p, size_t) noexcept { free_streamed(p); }
    bool operator==(const StreamedAllocator&) const { return true; }
};
template <class T>
using StreamedVector = std::vector<T, StreamedAllocator<T>>;

// A vector whose resize() leaves new elements uninitialized (trivial types), so their pages
// stay unmapped until written: for buffers sized for the most a run may use and filled as it
// goes (activation rows, the KV cache).
template <class T>
struct UntouchedAllocator : std::allocator<T> {
    template <class U>
    struct rebind {
        using other = UntouchedAllocator<U>;
    };
    template <class U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;
    }
};
template <class T>
using UntouchedVector = std::vector<T, UntouchedAllocator<T>>;

}  // namespace lm
