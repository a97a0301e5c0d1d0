// Each tokenizer model (SentencePiece BPE, GPT-2 byte-level BPE, WordPiece) built from a
// small base vocabulary plus tokens, types, scores, merges and special ids taken from the
// input; then encode on arbitrary bytes, decode on what came out and on arbitrary ids.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>

#include "tests/fuzz/fuzz.h"
#include "tokenizer/models.h"

namespace {

using lm::Metadata;
using lm::TokenType;
using lm::Value;
using lm::ValueType;

struct VocabBuilder {
    std::vector<std::string> tokens;
    std::vector<double> scores;
    std::vector<int64_t> types;
    void add(std::string text, TokenType type, double score = 0) {
        tokens.push_back(std::move(text));
        types.push_back(static_cast<int64_t>(type));
        scores.push_back(score);
    }
};

void spm_base(VocabBuilder& v) {
    v.add("<unk>", TokenType::unknown);
    v.add("<s>", TokenType::control);
    v.add("</s>", TokenType::control);
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        v.add(name, TokenType::byte);
    }
    const char* pieces[] = {"\xE2\x96\x81", "\xE2\x96\x81t", "he", "\xE2\x96\x81the", "\xE2\x96\x81\x61", "in", "on", "ce"};
    for (const char* p : pieces) v.add(p, TokenType::normal, -static_cast<double>(v.tokens.size()));
}

void gpt2_base(VocabBuilder& v, std::vector<std::string>& merges) {
    const lm::BpeModel bytes = lm::make_bpe(lm::Vocab{}, {}, "base");
    for (const std::string& c : bytes.byte_chars) v.add(c, TokenType::normal);
    v.add("<|endoftext|>", TokenType::control);
    for (const char* m : {"\xC4\xA0 t", "h e", "\xC4\xA0t he", "i n", "o n"}) merges.push_back(m);
    for (const char* t : {"\xC4\xA0t", "he", "\xC4\xA0the", "in", "on"}) v.add(t, TokenType::normal);
}

void bert_base(VocabBuilder& v) {
    for (const char* s : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) v.add(s, TokenType::control);
    for (const char* t : {"\xE2\x96\x81hello", "\xE2\x96\x81world", "ing", "\xE2\x96\x81the", "\xE2\x96\x81\x61", "!",
                          "\xE2\x96\x81!", "\xE2\x96\x81un", "aff", "able"})
        v.add(t, TokenType::normal);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const int kind = in.ConsumeIntegralInRange<int>(0, 2);
    const bool add_special = in.ConsumeBool(), parse_special = in.ConsumeBool();
    Metadata meta;
    meta.source = "fuzz";
    VocabBuilder v;
    std::vector<std::string> merges;
    if (kind == 0) spm_base(v);
    else if (kind == 1) gpt2_base(v, merges);
    else bert_base(v);
    const int n_extra = in.ConsumeIntegralInRange<int>(0, 32);
    for (int i = 0; i < n_extra; ++i) {
        std::string text = in.ConsumeRandomLengthString(16);
        const auto type = static_cast<TokenType>(in.ConsumeIntegralInRange<int>(0, 7));
        v.add(std::move(text), type, in.ConsumeFloatingPoint<float>());
    }
    const int n_merges = kind == 1 ? in.ConsumeIntegralInRange<int>(0, 16) : 0;
    for (int i = 0; i < n_merges; ++i) merges.push_back(in.ConsumeRandomLengthString(16));
    meta.set("tokenizer.ggml.model", Value::of_string(kind == 0 ? "llama" : kind == 1 ? "gpt2" : "bert"));
    meta.set("tokenizer.ggml.tokens", Value::of_strings(v.tokens));
    meta.set("tokenizer.ggml.scores", Value::of_floats(ValueType::F32, v.scores));
    meta.set("tokenizer.ggml.token_type", Value::of_ints(ValueType::I32, v.types));
    if (kind == 1) meta.set("tokenizer.ggml.merges", Value::of_strings(merges));
    for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                            "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.eot_token_id"})
        if (in.ConsumeBool()) meta.set(key, Value::of_int(ValueType::I32, in.ConsumeIntegral<int32_t>()));
    for (const char* key : {"tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token",
                            "tokenizer.ggml.add_space_prefix"})
        if (in.ConsumeBool()) meta.set(key, Value::of_bool(in.ConsumeBool()));
    const std::string text = in.ConsumeRandomLengthString(4096);
    std::vector<int32_t> ids;
    while (in.remaining_bytes() >= 4) ids.push_back(in.ConsumeIntegral<int32_t>());

    lm::fuzz::expect_clean([&] {
        const lm::Tokenizer tok(meta);
        const std::vector<int32_t> encoded = tok.encode(text, add_special, parse_special);
        for (int32_t id : encoded)
            if (id < 0 || id >= tok.n_vocab()) __builtin_trap();  // encode must only make valid ids
        tok.decode(encoded);
        lm::Utf8Stream stream;
        int32_t prev = -1;
        for (int32_t id : ids) {  // arbitrary ids: out-of-range ones must throw lm::Error
            lm::fuzz::expect_clean([&] { stream.push(tok.decode_token(prev, id)); });
            prev = id;
        }
        stream.flush();
        std::vector<int32_t> valid;
        for (int32_t id : ids) valid.push_back(static_cast<int32_t>(static_cast<uint32_t>(id) % tok.n_vocab()));
        tok.decode(valid);
        lm::fuzz::expect_clean([&] { tok.decode(ids); });
    });
    return 0;
}
