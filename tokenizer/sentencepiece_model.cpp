// SentencePiece's tokenizer.model (a protobuf ModelProto), read with a small bounds-checked
// decoder of the protobuf wire format, into the metadata of a "llama" tokenizer.
#include <cstring>

#include "tokenizer/tokenizer.h"
#include "weights/error.h"
#include "weights/limits.h"
#include "weights/mmap.h"

namespace lm {

namespace {

// One protobuf message: a run of (field number, wire type, value) records.
class ProtoReader {
public:
    ProtoReader(const uint8_t* data, size_t size, const std::string& path)
        : p_(data), end_(data + size), path_(path) {}

    bool done() const { return p_ >= end_; }

    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p_ >= end_) fail(path_, ": truncated protobuf varint");
            uint8_t b = *p_++;
            v |= static_cast<uint64_t>(b & 0x7F) << shift;
            if (!(b & 0x80)) return v;
        }
        fail(path_, ": protobuf varint longer than 10 bytes");
    }

    // Reads the next key; returns the field number and sets wire_type.
    uint32_t key(uint32_t& wire_type) {
        uint64_t k = varint();
        wire_type = static_cast<uint32_t>(k & 7);
        if ((k >> 3) == 0 || (k >> 3) > 0x1FFFFFFF) fail(path_, ": bad protobuf field number");
        return static_cast<uint32_t>(k >> 3);
    }

    ProtoReader message() {  // a length-delimited field
        uint64_t len = varint();
        if (len > static_cast<uint64_t>(end_ - p_)) fail(path_, ": protobuf field runs past the end of the file");
        ProtoReader sub(p_, static_cast<size_t>(len), path_);
        p_ += len;
        return sub;
    }

    std::string bytes() {
        ProtoReader sub = message();
        return std::string(reinterpret_cast<const char*>(sub.p_), static_cast<size_t>(sub.end_ - sub.p_));
    }

    float fixed32_float() {
        if (end_ - p_ < 4) fail(path_, ": truncated protobuf fixed32");
        float f;
        std::memcpy(&f, p_, 4);
        p_ += 4;
        return f;
    }

    void skip(uint32_t wire_type) {
        switch (wire_type) {
            case 0: varint(); break;
            case 1: advance(8); break;
            case 2: message(); break;
            case 5: advance(4); break;
            default: fail(path_, ": unsupported protobuf wire type ", wire_type);
        }
    }

private:
    void advance(size_t n) {
        if (static_cast<size_t>(end_ - p_) < n) fail(path_, ": truncated protobuf field");
        p_ += n;
    }

    const uint8_t* p_;
    const uint8_t* end_;
    const std::string& path_;
};

struct Piece {
    std::string text;
    float score = 0;
    int64_t type = 1;  // NORMAL; SentencePiece's types are llama.cpp's token types
};

Piece read_piece(ProtoReader r) {
    Piece piece;
    while (!r.done()) {
        uint32_t wire;
        uint32_t field = r.key(wire);
        if (field == 1 && wire == 2) piece.text = r.bytes();
        else if (field == 2 && wire == 5) piece.score = r.fixed32_float();
        else if (field == 3 && wire == 0) piece.type = static_cast<int64_t>(r.varint());
        else r.skip(wire);
    }
    return piece;
}

struct Specs {
    int64_t model_type = 1;  // UNIGRAM unless the trainer spec says otherwise
    int64_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
    bool add_dummy_prefix = true;
};

void read_trainer_spec(ProtoReader r, Specs& s) {
    while (!r.done()) {
        uint32_t wire;
        uint32_t field = r.key(wire);
        // int32 fields: negative values arrive as 64-bit two's complement varints.
        auto int32 = [&] { return static_cast<int64_t>(static_cast<int32_t>(r.varint())); };
        if (wire != 0) r.skip(wire);
        else if (field == 3) s.model_type = int32();
        else if (field == 40) s.unk_id = int32();
        else if (field == 41) s.bos_id = int32();
        else if (field == 42) s.eos_id = int32();
        else if (field == 43) s.pad_id = int32();
        else r.varint();
    }
}

void read_normalizer_spec(ProtoReader r, Specs& s) {
    while (!r.done()) {
        uint32_t wire;
        uint32_t field = r.key(wire);
        if (field == 3 && wire == 0) s.add_dummy_prefix = r.varint() != 0;
        else r.skip(wire);
    }
}

}  // namespace

void read_sentencepiece_model(const std::string& path, Metadata& meta) {
    read_sentencepiece_model(MappedFile(path), meta);
}

void read_sentencepiece_model(const MappedFile& file, Metadata& meta) {
    const std::string& path = file.path();
    ProtoReader r(file.data(), file.size(), path);
    std::vector<std::string> tokens;
    std::vector<double> scores;
    std::vector<int64_t> types;
    Specs specs;
    while (!r.done()) {
        uint32_t wire;
        uint32_t field = r.key(wire);
        if (field == 1 && wire == 2) {
            if (tokens.size() >= static_cast<size_t>(limits::kMaxVocab))
                fail(path, ": more than ", limits::kMaxVocab, " SentencePiece pieces");
            Piece piece = read_piece(r.message());
            tokens.push_back(std::move(piece.text));
            scores.push_back(piece.score);
            types.push_back(piece.type >= 1 && piece.type <= 6 ? piece.type : 0);
        } else if (field == 2 && wire == 2) {
            read_trainer_spec(r.message(), specs);
        } else if (field == 3 && wire == 2) {
            read_normalizer_spec(r.message(), specs);
        } else {
            r.skip(wire);
        }
    }
    if (tokens.empty()) fail(path, ": no SentencePiece pieces (not a tokenizer.model?)");
    if (specs.model_type != 2)
        fail(path, ": SentencePiece model type ", specs.model_type, " is not BPE (2); only BPE models are supported");
    const auto n = static_cast<int64_t>(tokens.size());
    auto set_id = [&](const char* key, int64_t id) {
        if (id >= 0 && id < n) meta.set(key, Value::of_int(ValueType::U32, id));
    };
    meta.set("tokenizer.ggml.model", Value::of_string("llama"));
    meta.set("tokenizer.ggml.tokens", Value::of_strings(std::move(tokens)));
    meta.set("tokenizer.ggml.scores", Value::of_floats(ValueType::F32, std::move(scores)));
    meta.set("tokenizer.ggml.token_type", Value::of_ints(ValueType::I32, std::move(types)));
    set_id("tokenizer.ggml.unknown_token_id", specs.unk_id);
    set_id("tokenizer.ggml.bos_token_id", specs.bos_id);
    set_id("tokenizer.ggml.eos_token_id", specs.eos_id);
    set_id("tokenizer.ggml.padding_token_id", specs.pad_id);
    meta.set("tokenizer.ggml.add_space_prefix", Value::of_bool(specs.add_dummy_prefix));
}

}  // namespace lm
