#include "weights/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "weights/error.h"

namespace lm::files {

namespace {

bool stat_of(const std::string& path, struct stat& st) { return ::stat(path.c_str(), &st) == 0; }

// The position of the extension's dot in a file name, or npos ("." and ".." and names that
// start with their only dot, such as ".bashrc", have none).
size_t extension_dot(const std::string& name) {
    if (name == "." || name == "..") return std::string::npos;
    const size_t dot = name.rfind('.');
    return dot == 0 ? std::string::npos : dot;
}

}  // namespace

bool exists(const std::string& path) {
    struct stat st;
    return stat_of(path, st);
}

bool is_directory(const std::string& path) {
    struct stat st;
    return stat_of(path, st) && S_ISDIR(st.st_mode);
}

bool is_regular(const std::string& path) {
    struct stat st;
    return stat_of(path, st) && S_ISREG(st.st_mode);
}

int64_t size(const std::string& path) {
    struct stat st;
    if (!stat_of(path, st) || S_ISDIR(st.st_mode)) return -1;
    return static_cast<int64_t>(st.st_size);
}

bool read(const std::string& path, std::string& bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bytes.clear();
    char buf[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            const int error = errno;
            ::close(fd);
            fail(path, ": read error: ", std::strerror(error));
        }
        bytes.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return true;
}

bool write(const std::string& path, std::string_view text, bool append) {
    std::FILE* f = std::fopen(path.c_str(), append ? "ab" : "wb");
    if (!f) return false;
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    return (std::fclose(f) == 0) && ok;
}

std::string rename(const std::string& from, const std::string& to) {
    if (std::rename(from.c_str(), to.c_str()) == 0) return "";
    return std::strerror(errno);
}

std::vector<std::string> split(std::string_view text, char separator) {
    std::vector<std::string> pieces;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find(separator, start);
        if (end == std::string_view::npos) end = text.size();
        pieces.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    return pieces;
}

std::string join(const std::string& dir, const std::string& name) {
    if (dir.empty()) return name;
    return dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string parent(const std::string& path) {
    size_t end = path.size();
    if (end && path[end - 1] != '/') {  // drop the file name
        const size_t slash = path.rfind('/');
        if (slash == std::string::npos) return "";
        end = slash + 1;
    }
    while (end > 1 && path[end - 1] == '/') --end;  // and the separators before it, not the root
    return path.substr(0, end);
}

std::string filename(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string stem(const std::string& path) {
    const std::string name = filename(path);
    return name.substr(0, extension_dot(name));
}

std::string extension(const std::string& path) {
    const std::string name = filename(path);
    const size_t dot = extension_dot(name);
    return dot == std::string::npos ? "" : name.substr(dot);
}

}  // namespace lm::files
