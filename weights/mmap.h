// A read-only memory map of a whole file, or the same view over bytes held in memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace lm {

class MappedFile {
public:
    explicit MappedFile(const std::string& path);  // throws lm::Error naming the file
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

private:
    std::string path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    enum class Source { mapped, owned, borrowed } source_ = Source::mapped;
    MappedFile() = default;
};

}  // namespace lm
