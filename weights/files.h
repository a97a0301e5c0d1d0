// Files and path names through POSIX calls. lm uses no iostreams and no std::filesystem: a
// static lm would carry their locale machinery and path library, some 800 KB of code.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lm::files {

bool exists(const std::string& path);  // anything there (a broken symlink is not)
bool is_directory(const std::string& path);
bool is_regular(const std::string& path);
int64_t size(const std::string& path);  // -1 when there is no file to measure

// The whole file into `bytes`: false when it cannot be opened; a read error throws lm::Error
// naming the file.
bool read(const std::string& path, std::string& bytes);
// `text` as the file's whole content (created or truncated), or at its end with `append`:
// false when it cannot be opened or written.
bool write(const std::string& path, std::string_view text, bool append = false);
// std::rename, with the reason on failure as a message (empty on success).
std::string rename(const std::string& from, const std::string& to);

// `text` cut at each `separator` (dropped), as std::getline reads it: "a,,b" gives "a", "",
// "b"; a separator at the very end starts no empty last piece.
std::vector<std::string> split(std::string_view text, char separator);

// Path names, as std::filesystem::path spells them: join("a", "b") = "a/b" (just "b" when
// the directory is empty); parent("a/b") = "a", parent("b") = ""; filename("a/b.c") =
// "b.c", stem "b", extension ".c" (a directory path ending in '/' has an empty filename).
std::string join(const std::string& dir, const std::string& name);
std::string parent(const std::string& path);
std::string filename(const std::string& path);
std::string stem(const std::string& path);
std::string extension(const std::string& path);

}  // namespace lm::files
