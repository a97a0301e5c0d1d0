// Tokenizers against llama.cpp's conformance vectors and llama.cpp's own tokenization of the
// stories260K prompt; SPM decoding, streaming, and hostile tokenizer.bin / metadata.
#include "tests/test_tokenizer_helpers.h"
#include "weights/error.h"

using lm::Tokenizer;
using namespace lm::testing;

namespace {

const char* kPrompt = "Once upon a time, there was a little girl named Lily.";

Tokenizer tok512() {
    lm::Metadata meta;
    meta.source = shared_file("models/stories260K/tok512.bin");
    lm::read_llama2c_tokenizer(meta.source, 512, meta);
    return Tokenizer(meta);
}

}  // namespace

TEST_SUITE("tokenizer") {

TEST_CASE("llama-spm conformance vectors") { check_vectors("ggml-vocab-llama-spm.gguf"); }

TEST_CASE("gpt-2 conformance vectors") { check_vectors("ggml-vocab-gpt-2.gguf"); }

TEST_CASE("bert-bge conformance vectors") { check_vectors("ggml-vocab-bert-bge.gguf"); }

// Byte-level BPE vocabularies whose tokenizer.ggml.pre names other rule sets.
TEST_CASE("deepseek-coder conformance vectors") { check_vectors("ggml-vocab-deepseek-coder.gguf"); }

TEST_CASE("falcon conformance vectors") { check_vectors("ggml-vocab-falcon.gguf"); }

TEST_CASE("mpt conformance vectors") { check_vectors("ggml-vocab-mpt.gguf"); }

// Every rule set, each under one of its names, with GPT-2's vocabulary: llama.cpp's ids from
// tests/ref/make_pretokenizer_vectors.py (the pieces decide them). Names differing only in
// whether whole words skip the merges are told apart by llama-bpe against dbrx.
TEST_CASE("every pre-tokenizer gives llama.cpp's ids") {
    const std::string path = shared_file("models/gguf-vocab/ggml-vocab-gpt-2.gguf");
    if (path.empty()) return;
    lm::Metadata meta = lm::load_model(path).meta;
    for (const char* name : {"default", "gpt-2", "llama-bpe", "dbrx", "deepseek-llm", "deepseek-coder", "deepseek-v3",
                             "falcon", "starcoder", "qwen2", "bloom", "viking", "tekken", "chameleon"}) {
        meta.set("tokenizer.ggml.pre", lm::Value::of_string(name));
        check_vectors(Tokenizer(meta), "tests/ref/pretokenizer/texts.inp",
                      std::string("tests/ref/pretokenizer/") + name + ".out", name);
    }
}

TEST_CASE("Llama 2 tokenizer.bin gives the llama-spm vectors") {
    std::string bin = shared_file("models/llama2c-tokenizer/tokenizer.bin");
    std::string gguf = shared_file("models/gguf-vocab/ggml-vocab-llama-spm.gguf");
    if (bin.empty() || gguf.empty()) return;
    lm::Metadata meta;
    meta.source = bin;
    lm::read_llama2c_tokenizer(bin, 32000, meta);
    Tokenizer from_bin(meta);
    Tokenizer from_gguf(lm::load_model(gguf).meta);
    size_t same = 0;
    for (int32_t id = 0; id < 32000; ++id)
        same += from_bin.token_text(id) == from_gguf.token_text(id) &&
                from_bin.token_type(id) == from_gguf.token_type(id);
    CHECK(same == 32000);
    check_vectors(from_bin, gguf, "ggml-vocab-llama-spm.gguf (from tokenizer.bin)");
}

TEST_CASE("stories260K prompt from tok512.bin and from the GGUF") {
    std::string logits = shared_file("models/stories260K/stories260K-F32.logits");
    std::string bin = shared_file("models/stories260K/tok512.bin");
    std::string gguf = shared_file("models/stories260K/stories260K-F32.gguf");
    if (logits.empty() || bin.empty() || gguf.empty()) return;
    std::vector<int32_t> expected = logits_tokens(logits);
    CHECK(expected.size() == 16);
    Tokenizer from_bin = tok512();
    CHECK(from_bin.encode(kPrompt, true) == expected);
    Tokenizer from_gguf(lm::load_model(gguf).meta);
    CHECK(from_gguf.encode(kPrompt, true) == expected);
    CHECK(from_gguf.n_vocab() == 512);
    CHECK(from_bin.bos() == 1);
    CHECK(from_bin.eos() == 2);
    CHECK(from_bin.is_eog(2));
    CHECK_FALSE(from_bin.is_eog(1));
    CHECK(from_bin.model() == "llama");
    // Both sources describe the same vocabulary.
    for (int32_t id = 0; id < 512; ++id) {
        CHECK(from_bin.token_text(id) == from_gguf.token_text(id));
        CHECK(from_bin.token_type(id) == from_gguf.token_type(id));
    }
}

TEST_CASE("SPM decode: round trip, BOS space, byte fallback") {
    if (shared_file("models/stories260K/tok512.bin").empty()) return;
    Tokenizer tok = tok512();
    std::vector<int32_t> ids = tok.encode(kPrompt, true);
    CHECK(tok.decode(ids) == kPrompt);
    CHECK(tok.decode(tok.encode(kPrompt, false)) == kPrompt);
    CHECK(tok.decode_token(-1, ids[0]) == "");  // BOS is a control token
    CHECK(tok.decode_token(ids[0], ids[1]) == "Once");  // space prefix dropped after BOS
    CHECK(tok.decode_token(ids[1], ids[2])[0] == ' ');
    // 512 tokens cannot spell "é" or "😀": they fall back to bytes and decode back exactly.
    const std::string rare = "caf\xC3\xA9 \xF0\x9F\x98\x80!";
    std::vector<int32_t> rare_ids = tok.encode(rare, false);
    CHECK(tok.decode(rare_ids) == rare);
    CHECK_THROWS_AS(tok.decode_token(-1, 512), lm::Error);
    CHECK(tok.encode("", true) == std::vector<int32_t>{1});
    CHECK(tok.encode("", false).empty());
}

TEST_CASE("Utf8Stream holds back split characters") {
    if (shared_file("models/stories260K/tok512.bin").empty()) return;
    Tokenizer tok = tok512();
    const std::string text = "h\xC3\xA9 \xF0\x9F\x98\x80 \xE2\x82\xAC";  // é 😀 €, byte tokens
    std::vector<int32_t> ids = tok.encode(text, true);
    lm::Utf8Stream stream;
    std::string printed;
    int32_t prev = -1;
    for (int32_t id : ids) {
        std::string part = stream.push(tok.decode_token(prev, id));
        // Every chunk handed out is whole characters.
        for (size_t i = 0; i < part.size(); ++i) {
            auto b = static_cast<unsigned char>(part[i]);
            size_t len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
            REQUIRE(i + len <= part.size());
            i += len - 1;
        }
        printed += part;
        prev = id;
    }
    printed += stream.flush();
    CHECK(printed == text);

    lm::Utf8Stream raw;
    CHECK(raw.push("a\xE2\x82") == "a");
    CHECK(raw.push("\xAC") == "\xE2\x82\xAC");
    CHECK(raw.push("\xFF") == "\xFF");  // invalid bytes pass through
    CHECK(raw.push("\xC3") == "");
    CHECK(raw.push("x") == "\xC3x");  // a lead byte that never completes
    CHECK(raw.push("\xF0\x9F") == "");
    CHECK(raw.flush() == "\xF0\x9F");
    CHECK(raw.flush() == "");
}

TEST_CASE("SPM word-at-a-time merging equals whole-text merging") {
    std::string gguf = shared_file("models/gguf-vocab/ggml-vocab-llama-spm.gguf");
    if (gguf.empty()) return;
    lm::Metadata meta = lm::load_model(gguf).meta;
    lm::Vocab vocab;
    vocab.tokens = *meta.get_strings("tokenizer.ggml.tokens");
    for (double s : *meta.get_floats("tokenizer.ggml.scores")) vocab.scores.push_back(static_cast<float>(s));
    for (int64_t t : *meta.get_ints("tokenizer.ggml.token_type")) vocab.types.push_back(static_cast<lm::TokenType>(t));
    for (size_t i = 0; i < vocab.tokens.size(); ++i) vocab.ids[vocab.tokens[i]] = static_cast<int32_t>(i);
    lm::SpmModel by_word = lm::make_spm(vocab, 0);
    REQUIRE(by_word.split_at_spaces);
    lm::SpmModel whole = by_word;
    whole.split_at_spaces = false;
    uint32_t state = 7;
    std::string inp = read_file(gguf + ".inp");
    for (int i = 0; i < 200; ++i) {
        std::string text = random_bytes(state, 1 + i % 60) + inp.substr(i * 9, 40);
        std::vector<int32_t> a, b;
        lm::spm_encode(vocab, by_word, text, true, a);
        lm::spm_encode(vocab, whole, text, true, b);
        CAPTURE(text);
        REQUIRE(a == b);
    }
}

TEST_CASE("SPM and WordPiece survive arbitrary bytes") {
    std::string spm_path = shared_file("models/gguf-vocab/ggml-vocab-llama-spm.gguf");
    std::string bert_path = shared_file("models/gguf-vocab/ggml-vocab-bert-bge.gguf");
    if (spm_path.empty() || bert_path.empty()) return;
    Tokenizer spm(lm::load_model(spm_path).meta);
    Tokenizer bert(lm::load_model(bert_path).meta);
    uint32_t state = 99;
    const char* pieces[] = {"a", " ", "b'", "1", ".", "\n", "\t", "\xC3\xA9", "\xE2\x82\xAC",
                            "\xF0\x9F\x98\x80", "\xE4\xB8\xAD", "\xE1\x9E\x80", "  "};
    for (int i = 0; i < 300; ++i) {
        std::string text = random_bytes(state, 1 + i % 50);
        CAPTURE(text);
        for (int32_t id : spm.encode(text, true)) REQUIRE((id >= 0 && id < spm.n_vocab()));
        for (int32_t id : bert.encode(text, true)) REQUIRE((id >= 0 && id < bert.n_vocab()));
        // On valid UTF-8, byte fallback keeps every character. (Not on invalid UTF-8: as in
        // llama.cpp, a stray lead byte swallows the escaped space after it.)
        std::string valid;
        for (int k = 0; k < 1 + i % 30; ++k) valid += pieces[((state = state * 1664525u + 1013904223u) >> 24) % 13];
        CAPTURE(valid);
        REQUIRE(spm.decode(spm.encode(valid, false)) == valid);
    }
}

TEST_CASE("hostile tokenizer.bin") {
    std::string path = lm::testing::temp_path("hostile_tok.bin");
    auto i32 = [](int32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
    auto f32 = [](float v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
    lm::Metadata meta;
    std::string good = i32(8) + f32(0) + i32(1) + "a" + f32(-1) + i32(2) + "bc";
    write_file(path, good);
    lm::read_llama2c_tokenizer(path, 2, meta);
    CHECK(meta.get_strings("tokenizer.ggml.tokens")->at(1) == "bc");
    CHECK_THROWS_AS(lm::read_llama2c_tokenizer(path, 3, meta), lm::Error);       // too few entries
    CHECK_THROWS_AS(lm::read_llama2c_tokenizer(path, 1 << 30, meta), lm::Error); // absurd count
    CHECK_THROWS_AS(lm::read_llama2c_tokenizer(path, 0, meta), lm::Error);
    write_file(path, good.substr(0, good.size() - 1));  // truncated inside the last token
    CHECK_THROWS_AS(lm::read_llama2c_tokenizer(path, 2, meta), lm::Error);
    write_file(path, i32(8) + f32(0) + i32(0x7FFFFFFF) + "abcdefgh");  // absurd length
    CHECK_THROWS_AS(lm::read_llama2c_tokenizer(path, 1, meta), lm::Error);
    write_file(path, i32(8) + f32(0) + i32(-5) + "abcdefgh");  // negative length
    CHECK_THROWS_AS(lm::read_llama2c_tokenizer(path, 1, meta), lm::Error);
    write_file(path, "ab");
    CHECK_THROWS_AS(lm::read_llama2c_tokenizer(path, 1, meta), lm::Error);
    CHECK_THROWS_AS(lm::read_llama2c_tokenizer(path + ".missing", 1, meta), lm::Error);
}

TEST_CASE("mutated tokenizer.bin: a tokenizer or lm::Error, never a crash") {
    std::string tok_path = shared_file("models/stories260K/tok512.bin");
    if (tok_path.empty()) return;
    const std::string good = read_file(tok_path);
    const std::string path = temp_path("mutated_tok.bin");
    uint32_t state = 3;
    auto next = [&] { return (state = state * 1664525u + 1013904223u) >> 8; };
    size_t loaded = 0, rejected = 0;
    for (int i = 0; i < 300; ++i) {
        std::string m = good;
        for (int k = 0; k < 4; ++k) m[next() % m.size()] = static_cast<char>(next());
        if (i % 3 == 0) m.resize(next() % m.size() + 1);
        write_file(path, m);
        try {
            lm::Metadata meta;
            lm::read_llama2c_tokenizer(path, 512, meta);
            Tokenizer tok(meta);
            std::vector<int32_t> ids = tok.encode("Once upon a time \xE2\x82\xAC", true);
            tok.decode(ids);
            ++loaded;
        } catch (const lm::Error&) {
            ++rejected;
        }
    }
    CHECK(loaded + rejected == 300);
    CHECK(rejected >= 100);  // the truncated ones at least
}

TEST_CASE("decoding arbitrary id sequences") {
    std::string path = shared_file("models/gguf-vocab/ggml-vocab-llama-spm.gguf");
    if (path.empty()) return;
    Tokenizer tok(lm::load_model(path).meta);
    uint32_t state = 11;
    lm::Utf8Stream stream;
    std::string streamed, whole;
    std::vector<int32_t> ids;
    int32_t prev = -1;
    for (int i = 0; i < 5000; ++i) {
        int32_t id = static_cast<int32_t>(((state = state * 1664525u + 1013904223u) >> 8) % 32000);
        ids.push_back(id);
        streamed += stream.push(tok.decode_token(prev, id));
        prev = id;
    }
    streamed += stream.flush();
    whole = tok.decode(ids);
    CHECK(streamed.size() >= whole.size());  // decode() also drops the SPM space prefix
    CHECK_THROWS_AS(tok.decode({1, -1}), lm::Error);
    CHECK_THROWS_AS(tok.decode({32000}), lm::Error);
}

TEST_CASE("bad tokenizer metadata") {
    lm::Metadata meta;
    meta.source = "bad.gguf";
    CHECK_THROWS_AS(Tokenizer{meta}, lm::Error);  // no model
    meta.set("tokenizer.ggml.model", lm::Value::of_string("llama"));
    CHECK_THROWS_AS(Tokenizer{meta}, lm::Error);  // no tokens
    meta.set("tokenizer.ggml.tokens", lm::Value::of_strings({"<unk>", "<s>", "</s>", "a"}));
    meta.set("tokenizer.ggml.scores", lm::Value::of_floats(lm::ValueType::F32, {0, 0}));
    CHECK_THROWS_AS(Tokenizer{meta}, lm::Error);  // scores of the wrong length
    meta.set("tokenizer.ggml.scores", lm::Value::of_floats(lm::ValueType::F32, {0, 0, 0, 0}));
    meta.set("tokenizer.ggml.bos_token_id", lm::Value::of_int(lm::ValueType::U32, 4294967295));
    Tokenizer tok(meta);
    CHECK(tok.bos() == 1);  // a bad id keeps llama.cpp's default
    meta.set("tokenizer.ggml.model", lm::Value::of_string("unigram"));
    try {
        Tokenizer bad(meta);
        FAIL("accepted an unknown tokenizer model");
    } catch (const lm::Error& e) {
        CHECK(std::string(e.what()).find("bad.gguf") != std::string::npos);
    }
    meta.set("tokenizer.ggml.model", lm::Value::of_string("gpt2"));
    CHECK_THROWS_AS(Tokenizer{meta}, lm::Error);  // gpt2 without merges
}

}  // TEST_SUITE
