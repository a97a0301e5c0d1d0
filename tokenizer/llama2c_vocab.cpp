// llama2.c's tokenizer.bin, turned into the metadata a GGUF of the same model would carry.
#include <cstring>

#include "tokenizer/tokenizer.h"
#include "weights/error.h"
#include "weights/limits.h"
#include "weights/mmap.h"

namespace lm {

namespace {

// llama2.c's exporter wrote SentencePiece's U+2581 as ' ' and BOS/EOS as "\n<s>\n"/"\n</s>\n".
std::string normalize_piece(std::string piece) {
    if (piece == "\n<s>\n" || piece == "\n</s>\n") return piece.substr(1, piece.size() - 2);
    std::string out;
    for (char c : piece) {
        if (c == ' ') out += "\xE2\x96\x81";
        else out += c;
    }
    return out;
}

TokenType piece_type(const std::string& piece) {
    if (piece == "<unk>") return TokenType::unknown;
    if (piece == "<s>" || piece == "</s>") return TokenType::control;
    auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
    if (piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && hex(piece[3]) && hex(piece[4]) &&
        piece[5] == '>')
        return TokenType::byte;
    return TokenType::normal;
}

}  // namespace

void read_llama2c_tokenizer(const std::string& path, int32_t n_vocab, Metadata& meta) {
    read_llama2c_tokenizer(MappedFile(path), n_vocab, meta);
}

void read_llama2c_tokenizer(const MappedFile& file, int32_t n_vocab, Metadata& meta) {
    const std::string& path = file.path();
    const uint8_t* data = file.data();
    const size_t size = file.size();
    if (n_vocab <= 0 || n_vocab > limits::kMaxVocab)
        fail(path, ": vocabulary size ", n_vocab, " from the model header is out of range (1..", limits::kMaxVocab, ")");
    // Each entry takes at least 8 bytes (score + length): check before allocating.
    if (size < 4 || (size - 4) / 8 < static_cast<size_t>(n_vocab))
        fail(path, ": too small for ", n_vocab, " tokens (", size, " bytes)");
    size_t pos = 4;  // skip max_token_len: lengths are checked against the file instead
    auto read_i32 = [&](int32_t& v) { std::memcpy(&v, data + pos, 4); pos += 4; };

    std::vector<std::string> tokens;
    std::vector<double> scores;
    std::vector<int64_t> types;
    tokens.reserve(n_vocab);
    scores.reserve(n_vocab);
    types.reserve(n_vocab);
    for (int32_t i = 0; i < n_vocab; ++i) {
        if (size - pos < 8) fail(path, ": truncated at token ", i, " of ", n_vocab);
        float score;
        std::memcpy(&score, data + pos, 4);
        pos += 4;
        int32_t len;
        read_i32(len);
        if (len < 0 || static_cast<size_t>(len) > size - pos)
            fail(path, ": token ", i, " has length ", len, " but ", size - pos, " bytes remain");
        std::string piece = normalize_piece(std::string(reinterpret_cast<const char*>(data + pos), len));
        pos += len;
        types.push_back(static_cast<int64_t>(piece_type(piece)));
        tokens.push_back(std::move(piece));
        scores.push_back(score);
    }

    meta.set("tokenizer.ggml.model", Value::of_string("llama"));
    meta.set("tokenizer.ggml.tokens", Value::of_strings(std::move(tokens)));
    meta.set("tokenizer.ggml.scores", Value::of_floats(ValueType::F32, std::move(scores)));
    meta.set("tokenizer.ggml.token_type", Value::of_ints(ValueType::I32, std::move(types)));
    // run.c hard-codes these.
    meta.set("tokenizer.ggml.unknown_token_id", Value::of_int(ValueType::U32, 0));
    meta.set("tokenizer.ggml.bos_token_id", Value::of_int(ValueType::U32, 1));
    meta.set("tokenizer.ggml.eos_token_id", Value::of_int(ValueType::U32, 2));
    meta.set("tokenizer.ggml.add_bos_token", Value::of_bool(true));
    meta.set("tokenizer.ggml.add_eos_token", Value::of_bool(false));
}

}  // namespace lm
