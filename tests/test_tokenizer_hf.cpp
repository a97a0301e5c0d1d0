// Tokenizers built from Hugging Face files (encoder.json + vocab.bpe, vocab.txt,
// tokenizer.json) against the GGUF vocabularies; GPT-2 byte round trips; malformed files.
#include <filesystem>

#include "tests/test_tokenizer_helpers.h"
#include "weights/error.h"

using lm::Tokenizer;
using namespace lm::testing;

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
