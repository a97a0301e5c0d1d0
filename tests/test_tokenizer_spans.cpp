// encode_with_spans: every token knows the bytes of the input it came from.
#include "tests/test_tokenizer_helpers.h"

using lm::ByteSpan;
using lm::Tokenizer;
using namespace lm::testing;

namespace {

std::vector<std::string> vector_texts(const std::string& gguf) {
    const std::string inp = read_file(gguf + ".inp");
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> texts;
    for (size_t pos = 0, hit; (hit = inp.find(sep, pos)) != std::string::npos; pos = hit + sep.size())
        texts.push_back(inp.substr(pos, hit - pos));
    return texts;
}

// Same ids as encode(); spans in order, inside the text, and (tiles) covering it end to end.
void check_spans(const Tokenizer& tok, const std::string& text, bool tiles) {
    std::vector<ByteSpan> spans;
    std::vector<int32_t> ids = tok.encode_with_spans(text, spans);
    CAPTURE(text);
    REQUIRE(ids == tok.encode(text, false));
    REQUIRE(spans.size() == ids.size());
    uint32_t prev_end = 0;
    for (const ByteSpan& s : spans) {
        CHECK(s.begin <= s.end);
        CHECK(s.end <= text.size());
        if (tiles) CHECK(s.begin == prev_end);
        else CHECK(s.begin >= prev_end);
        prev_end = s.end;
    }
    if (tiles) CHECK(prev_end == text.size());
}

std::vector<std::string> pieces(const std::string& text, const std::vector<ByteSpan>& spans) {
    std::vector<std::string> out;
    for (const ByteSpan& s : spans) out.push_back(text.substr(s.begin, s.end - s.begin));
    return out;
}

}  // namespace

TEST_SUITE("tokenizer") {

TEST_CASE("spans: SPM and GPT-2 tokens tile the text") {
    for (const char* name : {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"}) {
        std::string gguf = shared_file(std::string("models/gguf-vocab/") + name);
        if (gguf.empty()) return;
        Tokenizer tok(lm::load_model(gguf).meta);
        for (const std::string& text : vector_texts(gguf)) check_spans(tok, text, true);
        uint32_t state = 21;
        for (int i = 0; i < 100; ++i) check_spans(tok, random_bytes(state, 1 + i % 30), true);
    }
}

TEST_CASE("spans: GPT-2 tokens are exactly their bytes") {
    std::string gguf = shared_file("models/gguf-vocab/ggml-vocab-gpt-2.gguf");
    if (gguf.empty()) return;
    Tokenizer tok(lm::load_model(gguf).meta);
    for (const std::string& text : vector_texts(gguf)) {
        std::vector<ByteSpan> spans;
        std::vector<int32_t> ids = tok.encode_with_spans(text, spans);
        std::vector<std::string> got = pieces(text, spans);
        for (size_t i = 0; i < ids.size(); ++i) CHECK(got[i] == tok.decode_token(-1, ids[i]));
    }
    std::vector<ByteSpan> spans;
    const std::string text = "a<|endoftext|>b a";
    CHECK(tok.encode_with_spans(text, spans, true) == std::vector<int32_t>{64, 50256, 65, 257});
    CHECK(pieces(text, spans) == std::vector<std::string>{"a", "<|endoftext|>", "b", " a"});
}

TEST_CASE("spans: BERT words map back to the original text") {
    std::string gguf = shared_file("models/gguf-vocab/ggml-vocab-bert-bge.gguf");
    if (gguf.empty()) return;
    Tokenizer tok(lm::load_model(gguf).meta);
    for (const std::string& text : vector_texts(gguf)) check_spans(tok, text, false);
    const std::string text = "Hello,  F\xC3\xBChrer!\t\xE4\xBD\xA0\xE5\xA5\xBD caf\xC3\xA9 \xF0\x9F\x9A\x80 x";
    std::vector<ByteSpan> spans;
    std::vector<int32_t> ids = tok.encode_with_spans(text, spans);
    CHECK(pieces(text, spans) == std::vector<std::string>{"Hello", ",", "F\xC3\xBC", "hrer", "!", "\xE4\xBD\xA0",
                                                          "\xE5\xA5\xBD", "caf\xC3\xA9", "\xF0\x9F\x9A\x80", "x"});
    CHECK(ids[8] == tok.unk());
}

TEST_CASE("spans: SPM byte fallback and the space prefix") {
    std::string gguf = shared_file("models/gguf-vocab/ggml-vocab-llama-spm.gguf");
    if (gguf.empty()) return;
    Tokenizer tok(lm::load_model(gguf).meta);
    const std::string text = "Hello \xF0\x9F\xA6\x99";  // 🦙 is spelled with byte tokens
    std::vector<ByteSpan> spans;
    std::vector<int32_t> ids = tok.encode_with_spans(text, spans);
    CHECK(ids == std::vector<int32_t>{15043, 29871, 243, 162, 169, 156});
    CHECK(pieces(text, spans) == std::vector<std::string>{"Hello", " ", "\xF0", "\x9F", "\xA6", "\x99"});
}

}  // TEST_SUITE
