#include "weights/mmap.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include "weights/error.h"

namespace lm {

MappedFile::MappedFile(const std::string& name, int fd) : path_(name) {
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) fail(name, ": not a regular file");
    size_ = static_cast<size_t>(st.st_size);
    if (size_ == 0) fail(name, ": file is empty");
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) fail(name, ": cannot map: ", std::strerror(errno));
    data_ = static_cast<const uint8_t*>(p);
}

namespace {
// A descriptor closed when the statement that opened it ends.
struct ReadFd {
    int fd;
    explicit ReadFd(const std::string& path) : fd(::open(path.c_str(), O_RDONLY)) {
        if (fd < 0) fail(path, ": cannot open: ", std::strerror(errno));
    }
    ~ReadFd() { ::close(fd); }
};
}  // namespace

MappedFile::MappedFile(const std::string& path) : MappedFile(path, ReadFd(path).fd) {}

constexpr std::align_val_t kPageAlignment{4096};

MappedFile::MappedFile(const std::string& name, std::string_view bytes) : path_(name), size_(bytes.size()) {
    if (size_ == 0) fail(name, ": file is empty");
    uint8_t* p = static_cast<uint8_t*>(::operator new(size_, kPageAlignment));
    std::memcpy(p, bytes.data(), size_);
    data_ = p;
    source_ = Source::owned;
}

std::shared_ptr<const MappedFile> MappedFile::borrow(const std::string& name, std::string_view bytes) {
    if (bytes.empty()) fail(name, ": file is empty");
    std::shared_ptr<MappedFile> f(new MappedFile());
    f->path_ = name;
    f->data_ = reinterpret_cast<const uint8_t*>(bytes.data());
    f->size_ = bytes.size();
    f->source_ = Source::borrowed;
    return f;
}

MappedFile::~MappedFile() {
    if (!data_) return;
    if (source_ == Source::owned) ::operator delete(const_cast<uint8_t*>(data_), kPageAlignment);
    else if (source_ == Source::mapped) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void MappedFile::release(const void* p, size_t n) const {
    const auto at = reinterpret_cast<uintptr_t>(p), begin = reinterpret_cast<uintptr_t>(data_);
    if (source_ != Source::mapped || at < begin || at + n > begin + size_ || at + n < at) return;
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t first = (at + page - 1) / page * page, last = (at + n) / page * page;  // whole pages only
    if (first < last) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

void* alloc_streamed(size_t bytes) {
    constexpr size_t kHuge = size_t{2} << 20;
    if (bytes < kHuge) {
        if (void* p = std::malloc(bytes ? bytes : 1)) return p;
        throw std::bad_alloc();
    }
    const size_t size = (bytes + kHuge - 1) / kHuge * kHuge;  // whole pages: the advice covers only this block
    void* p = std::aligned_alloc(kHuge, size);
    if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    ::madvise(p, size, MADV_HUGEPAGE);  // advice only: without it the block still works
#endif
    return p;
}

void free_streamed(void* p) noexcept { std::free(p); }

}  // namespace lm
