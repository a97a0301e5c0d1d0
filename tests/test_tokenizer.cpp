// Tokenizers against llama.cpp's conformance vectors, llama.cpp's own tokenization of the
// stories260K prompt, round trips, streaming, and hostile vocabulary files.
#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/testing.h"
#include "tokenizer/bpe_train.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"
#include "weights/error.h"
#include "weights/model_file.h"

using lm::Tokenizer;
using lm::testing::shared_file;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// X.gguf.inp: every test string is followed by "\n__ggml_vocab_test__\n" (the file ends
// with one). X.gguf.out: one line of space-separated ids per string.
void check_vectors(const Tokenizer& tok, const std::string& path, const std::string& name) {
    const std::string inp = read_file(path + ".inp");
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> texts;
    for (size_t pos = 0, hit; (hit = inp.find(sep, pos)) != std::string::npos; pos = hit + sep.size())
        texts.push_back(inp.substr(pos, hit - pos));
    std::vector<std::vector<int32_t>> expected;
    std::istringstream out(read_file(path + ".out"));
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

void check_vectors(const std::string& name) {
    std::string path = shared_file("models/gguf-vocab/" + name);
    if (path.empty()) return;
    check_vectors(Tokenizer(lm::load_model(path).meta), path, name);
}

// The prompt and token ids at the head of a .logits file (llama.cpp's tokenization, with BOS).
std::vector<int32_t> logits_tokens(const std::string& path) {
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

TEST_SUITE("tokenizer") {
TEST_CASE("gpt-2 conformance vectors") { check_vectors("ggml-vocab-gpt-2.gguf"); }
TEST_CASE("bert-bge conformance vectors") { check_vectors("ggml-vocab-bert-bge.gguf"); }
}

namespace {

// The same vectors through a tokenizer built from Hugging Face files.
void check_hf_vectors(const std::string& hf_path, const std::string& name) {
    std::string hf = shared_file(hf_path);
    std::string gguf = shared_file("models/gguf-vocab/" + name);
    if (hf.empty() || gguf.empty()) return;
    Tokenizer from_hf = Tokenizer::from_files(hf);
    Tokenizer from_gguf(lm::load_model(gguf).meta);
    REQUIRE(from_hf.n_vocab() == from_gguf.n_vocab());
    size_t same = 0;
    for (int32_t id = 0; id < from_hf.n_vocab(); ++id)
        same += from_hf.token_text(id) == from_gguf.token_text(id) &&
                from_hf.token_type(id) == from_gguf.token_type(id);
    CHECK(same == static_cast<size_t>(from_hf.n_vocab()));
    CHECK(from_hf.bos() == from_gguf.bos());
    CHECK(from_hf.eos() == from_gguf.eos());
    CHECK(from_hf.unk() == from_gguf.unk());
    check_vectors(from_hf, gguf, name + " (from " + hf_path + ")");
}

std::string random_bytes(uint32_t& state, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        state = state * 1664525u + 1013904223u;
        uint8_t b = static_cast<uint8_t>(state >> 24);
        // Mostly ASCII letters, spaces and punctuation, with raw high bytes mixed in.
        s += static_cast<char>((state >> 8) % 4 ? " a'b1.\n\xC3\xA9\xE2\x82"[b % 11] : b);
    }
    return s;
}

}  // namespace

TEST_SUITE("tokenizer") {

TEST_CASE("Hugging Face files give the GGUF vocabularies") {
    check_hf_vectors("models/gpt2-vocab", "ggml-vocab-gpt-2.gguf");
    check_hf_vectors("models/gpt2-vocab/encoder.json", "ggml-vocab-gpt-2.gguf");
    check_hf_vectors("models/bert-vocab", "ggml-vocab-bert-bge.gguf");
    check_hf_vectors("models/bert-vocab/vocab.txt", "ggml-vocab-bert-bge.gguf");
}

TEST_CASE("GPT-2 encode/decode is the identity on arbitrary bytes") {
    std::string dir = shared_file("models/gpt2-vocab");
    if (dir.empty()) return;
    Tokenizer tok = Tokenizer::from_files(dir);
    CHECK(tok.model() == "gpt2");
    CHECK(tok.bos() == 50256);
    CHECK(tok.is_eog(50256));
    CHECK(tok.encode("Hello world", true) == std::vector<int32_t>{15496, 995});  // no BOS for gpt2
    uint32_t state = 12345;
    for (int i = 0; i < 300; ++i) {
        std::string text = random_bytes(state, 1 + i % 40);
        CAPTURE(text);
        REQUIRE(tok.decode(tok.encode(text, false)) == text);
    }
    std::string all;
    for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
    CHECK(tok.decode(tok.encode(all, false)) == all);
    const std::string invalid = "\xFF\xFE \xC0\xAF \xED\xA0\x80 \xF4\x90\x80\x80 \xE2\x82 x\xC3";
    CHECK(tok.decode(tok.encode(invalid, false)) == invalid);
    // Special-token text is plain text unless asked for.
    CHECK(tok.encode("<|endoftext|>", false).size() > 1);
    CHECK(tok.encode("a<|endoftext|>b", false, true) == std::vector<int32_t>{64, 50256, 65});
    CHECK(tok.decode_token(-1, 50256) == "");
    CHECK(tok.decode_token(-1, 995) == " world");
}

TEST_CASE("BERT WordPiece from vocab.txt") {
    std::string dir = shared_file("models/bert-vocab");
    if (dir.empty()) return;
    Tokenizer tok = Tokenizer::from_files(dir);
    CHECK(tok.model() == "bert");
    std::vector<int32_t> ids = tok.encode("Hello, World! Führer", true);
    CHECK(ids == std::vector<int32_t>{101, 7592, 1010, 2088, 999, 11865, 17875, 102});
    CHECK(tok.decode(ids) == "hello, world! fuhrer");
    CHECK(tok.encode(std::string(101, 'a'), false) == std::vector<int32_t>{100});  // too long: [UNK]
    CHECK(tok.encode("\xE4\xBD\xA0\xE5\xA5\xBD", false).size() == 2);  // CJK characters split
    CHECK(tok.encode("[CLS]", false, true) == std::vector<int32_t>{101});
}

TEST_CASE("tokenizer.json: byte-level BPE and WordPiece") {
    std::string dir = lm::testing::temp_path("hf_json");
    std::filesystem::create_directories(dir);
    write_file(dir + "/tokenizer.json", R"({
      "added_tokens": [{"id": 6, "content": "<|end|>", "special": true}],
      "pre_tokenizer": {"type": "ByteLevel"},
      "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "\u0120": 2, "ab": 3, "\u0120ab": 4, "c": 5},
                "merges": [["a", "b"], "\u0120 ab"]}})");
    Tokenizer bpe = Tokenizer::from_files(dir);
    CHECK(bpe.model() == "gpt2");
    CHECK(bpe.n_vocab() == 7);
    CHECK(bpe.encode("ab ab c", false) == std::vector<int32_t>{3, 4, 2, 5});
    CHECK(bpe.encode("ab<|end|>", false, true) == std::vector<int32_t>{3, 6});
    CHECK(bpe.is_eog(6));
    write_file(dir + "/tokenizer.json", R"({"model": {"type": "WordPiece",
      "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "play": 3, "##ing": 4, "!": 5}}})");
    Tokenizer wp = Tokenizer::from_files(dir + "/tokenizer.json");
    CHECK(wp.model() == "bert");
    CHECK(wp.encode("Playing PLAY!  xyz", true) == std::vector<int32_t>{1, 3, 4, 3, 5, 0, 2});
    write_file(dir + "/tokenizer.json", R"({"model": {"type": "Unigram", "vocab": []}})");
    CHECK_THROWS_AS(Tokenizer::from_files(dir), lm::Error);
}

TEST_CASE("hostile Hugging Face files") {
    std::string dir = lm::testing::temp_path("hf_bad");
    std::filesystem::create_directories(dir);
    write_file(dir + "/merges.txt", "#version: 0.2\na b\n");
    auto rejects = [&](const std::string& vocab_json) {
        write_file(dir + "/vocab.json", vocab_json);
        CHECK_THROWS_AS(Tokenizer::from_files(dir), lm::Error);
    };
    rejects(R"({"a": 0, "b": 2})");           // a gap in the ids
    rejects(R"({"a": 0, "b": 99999999999})");  // absurd id
    rejects(R"({"a": 0, "b": -1})");
    rejects(R"({"a": 0, "b": "1"})");
    rejects(R"({"a": 0, "b": 1.5})");
    rejects(R"(["a", "b"])");
    rejects(R"({"a": 0, "b": 1)");  // malformed JSON
    write_file(dir + "/vocab.json", R"({"a": 0, "b": 1, "ab": 2})");
    CHECK(Tokenizer::from_files(dir).encode("ab", false) == std::vector<int32_t>{2});
    write_file(dir + "/merges.txt", "ab\n");  // a merge that is not two tokens
    CHECK_THROWS_AS(Tokenizer::from_files(dir), lm::Error);
    CHECK_THROWS_AS(Tokenizer::from_files(dir + "/nothing-here"), lm::Error);
    std::filesystem::create_directories(dir + "/empty");
    CHECK_THROWS_AS(Tokenizer::from_files(dir + "/empty"), lm::Error);
}

}  // TEST_SUITE

TEST_SUITE("tokenizer") {

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

}  // TEST_SUITE

TEST_SUITE("tokenizer") {

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

}  // TEST_SUITE

TEST_SUITE("tokenizer") {

TEST_CASE("BPE training") {
    std::string corpus;
    for (int i = 0; i < 50; ++i) corpus += "the cat sat on the mat. the dog sat on the log!\n";
    corpus += "\xF0\x9F\x98\x80 caf\xC3\xA9 \xFF";
    lm::Metadata meta;
    lm::train_bpe(corpus, {270, 2}, meta);
    Tokenizer tok(meta);
    CHECK(tok.model() == "gpt2");
    CHECK(tok.n_vocab() == 270);
    CHECK(tok.token_text(0) == "!");  // GPT-2's byte order
    CHECK(tok.token_text(269) == "<|endoftext|>");
    CHECK(tok.eos() == 269);
    CHECK(tok.is_eog(269));
    CHECK(tok.encode(" the", false).size() == 1);  // frequent words became tokens
    CHECK(tok.encode(" sat on the", false).size() <= 3);
    CHECK(tok.decode(tok.encode(corpus, false)) == corpus);
    CHECK(tok.encode(corpus, false).size() < corpus.size() / 2);
    lm::Metadata again;
    lm::train_bpe(corpus, {270, 2}, again);
    CHECK(*again.get_strings("tokenizer.ggml.merges") == *meta.get_strings("tokenizer.ggml.merges"));
    lm::Metadata all;  // every word of this corpus ends up one token after 17 merges
    lm::train_bpe(corpus, {1000, 2}, all);
    CHECK(Tokenizer(all).n_vocab() == 256 + 17 + 1);
    // Nothing repeats twice in a tiny corpus: bytes only.
    lm::Metadata tiny;
    lm::train_bpe("abc", {1000, 2}, tiny);
    CHECK(Tokenizer(tiny).n_vocab() == 257);
    lm::Metadata empty;
    lm::train_bpe("", {1000, 2}, empty);
    CHECK(Tokenizer(empty).encode("hi", false).size() == 2);
    CHECK_THROWS_AS(lm::train_bpe(corpus, {256, 2}, meta), lm::Error);
}

TEST_CASE("BPE training on Tiny Shakespeare") {
    std::string path = lm::testing::shared_file("corpora/tinyshakespeare.txt");
    if (path.empty()) return;
    std::string corpus = read_file(path);
    lm::Metadata meta;
    lm::train_bpe(corpus, {1024, 2}, meta);
    Tokenizer tok(meta);
    CHECK(tok.n_vocab() == 1024);
    std::vector<int32_t> ids = tok.encode(corpus, false);
    CHECK(tok.decode(ids) == corpus);
    double bytes_per_token = static_cast<double>(corpus.size()) / static_cast<double>(ids.size());
    MESSAGE("tinyshakespeare, 1024 tokens: ", bytes_per_token, " bytes per token");
    CHECK(bytes_per_token > 2.2);
}

}  // TEST_SUITE

namespace {

// The textbook trainer: recount every pair after every merge.
std::vector<std::string> naive_bpe_merges(const std::string& corpus, size_t n_merges) {
    std::map<std::string, int64_t> counts;
    for (std::string_view w : lm::gpt2_pretokenize(corpus)) ++counts[std::string(w)];
    std::vector<std::string> tokens;
    std::vector<std::pair<uint32_t, int>> order;
    for (int b = 0; b < 256; ++b) order.push_back({lm::gpt2_byte_char(static_cast<uint8_t>(b)), b});
    std::sort(order.begin(), order.end());
    int byte_id[256];
    for (auto [cp, b] : order) {
        byte_id[b] = static_cast<int>(tokens.size());
        tokens.emplace_back();
        lm::append_utf8(tokens.back(), cp);
    }
    std::vector<std::pair<std::vector<int>, int64_t>> words;
    for (const auto& [w, c] : counts) {
        std::vector<int> s;
        for (char ch : w) s.push_back(byte_id[static_cast<uint8_t>(ch)]);
        words.push_back({s, c});
    }
    std::vector<std::string> merges;
    while (merges.size() < n_merges) {
        std::map<std::pair<int, int>, int64_t> pairs;
        for (const auto& [s, c] : words)
            for (size_t i = 1; i < s.size(); ++i) pairs[{s[i - 1], s[i]}] += c;
        std::pair<int, int> best{-1, -1};
        int64_t best_count = 1;  // min_frequency 2
        for (const auto& [p, c] : pairs)
            if (c > best_count) best = p, best_count = c;  // map order: ties keep the smaller pair
        if (best.first < 0) break;
        int merged = static_cast<int>(tokens.size());
        tokens.push_back(tokens[best.first] + tokens[best.second]);
        merges.push_back(tokens[best.first] + " " + tokens[best.second]);
        for (auto& [s, c] : words) {
            std::vector<int> t;
            for (size_t i = 0; i < s.size(); ++i) {
                if (i + 1 < s.size() && s[i] == best.first && s[i + 1] == best.second) t.push_back(merged), ++i;
                else t.push_back(s[i]);
            }
            s = t;
        }
    }
    return merges;
}

}  // namespace

TEST_SUITE("tokenizer") {

TEST_CASE("BPE training matches the textbook algorithm") {
    std::string corpus;
    uint32_t state = 5;
    const char* words[] = {" the", " a", "aaa", " banana", "!!", "\n\n", " 123", " x'll", "  ", "ab", "ba"};
    for (int i = 0; i < 3000; ++i) corpus += words[((state = state * 1664525u + 1013904223u) >> 24) % 11];
    corpus += "aaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    lm::Metadata meta;
    lm::train_bpe(corpus, {256 + 60 + 1, 2}, meta);
    CHECK(*meta.get_strings("tokenizer.ggml.merges") == naive_bpe_merges(corpus, 60));
}

}  // TEST_SUITE

TEST_SUITE("tokenizer") {

TEST_CASE("character vocabulary") {
    lm::Metadata meta;
    lm::char_vocab("hello world\n", meta);
    Tokenizer tok(meta);
    CHECK(tok.n_vocab() == 10);  // "\n", " ", d e h l o r w, <|endoftext|>
    CHECK(tok.encode("hello", false) == std::vector<int32_t>{4, 3, 5, 5, 6});
    CHECK(tok.encode("\nwow", false) == std::vector<int32_t>{0, 8, 6, 8});
    CHECK(tok.decode(tok.encode("hello world\n", false)) == "hello world\n");
    CHECK(tok.encode("hex", false) == std::vector<int32_t>{4, 3});  // unseen bytes are dropped
    CHECK(tok.eos() == 9);
}

}  // TEST_SUITE
