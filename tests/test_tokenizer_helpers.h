// Helpers shared by the tokenizer test files.
#pragma once
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing.h"
#include "tokenizer/tokenizer.h"
#include "weights/model_file.h"

namespace lm::testing {

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// X.gguf.inp: every test string is followed by "\n__ggml_vocab_test__\n" (the file ends
// with one). X.gguf.out: one line of space-separated ids per string.
inline void check_vectors(const lm::Tokenizer& tok, const std::string& inp_path, const std::string& out_path,
                          const std::string& name) {
    const std::string inp = read_file(inp_path);
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> texts;
    for (size_t pos = 0, hit; (hit = inp.find(sep, pos)) != std::string::npos; pos = hit + sep.size())
        texts.push_back(inp.substr(pos, hit - pos));
    std::vector<std::vector<int32_t>> expected;
    std::istringstream out(read_file(out_path));
    for (std::string line; std::getline(out, line);) {
        std::istringstream ids(line);
        expected.emplace_back();
        for (int32_t id; ids >> id;) expected.back().push_back(id);
    }
    REQUIRE(texts.size() == expected.size());
    REQUIRE(texts.size() > 40);
    size_t passed = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
        std::vector<int32_t> got = tok.encode(texts[i], false);
        CAPTURE(i);
        CAPTURE(texts[i]);
        CHECK(got == expected[i]);
        passed += got == expected[i];
    }
    MESSAGE(name, ": ", passed, "/", texts.size(), " vectors");
}

inline void check_vectors(const lm::Tokenizer& tok, const std::string& path, const std::string& name) {
    check_vectors(tok, path + ".inp", path + ".out", name);
}

inline void check_vectors(const std::string& name) {
    std::string path = shared_file("models/gguf-vocab/" + name);
    if (path.empty()) return;
    check_vectors(lm::Tokenizer(lm::load_model(path).meta), path, name);
}

// The prompt and token ids at the head of a .logits file (llama.cpp's tokenization, with BOS).
inline std::vector<int32_t> logits_tokens(const std::string& path) {
    std::string bytes = read_file(path);
    REQUIRE(bytes.size() >= 8);
    int32_t n = 0;
    std::memcpy(&n, bytes.data(), 4);
    REQUIRE(n > 0);
    REQUIRE(bytes.size() >= 8 + 4 * static_cast<size_t>(n));
    std::vector<int32_t> ids(n);
    std::memcpy(ids.data(), bytes.data() + 8, 4 * static_cast<size_t>(n));
    return ids;
}

// Deterministic test text: mostly ASCII letters, spaces and punctuation, with raw high bytes.
inline std::string random_bytes(uint32_t& state, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        state = state * 1664525u + 1013904223u;
        uint8_t b = static_cast<uint8_t>(state >> 24);
        s += static_cast<char>((state >> 8) % 4 ? " a'b1.\n\xC3\xA9\xE2\x82"[b % 11] : b);
    }
    return s;
}

}  // namespace lm::testing
