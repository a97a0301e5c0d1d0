// Tokenizers built from Hugging Face files (encoder.json + vocab.bpe, vocab.txt,
// tokenizer.json) against the GGUF vocabularies; GPT-2 byte round trips; malformed files.
#include <filesystem>

#include "tests/test_tokenizer_helpers.h"
#include "tokenizer/unicode.h"
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

// Qwen2, Llama 3 and SmolLM directories: the split named from tokenizer.json's pre_tokenizer
// (also when vocab.json and merges.txt are there too), the chat template from
// tokenizer_config.json.
TEST_CASE("tokenizer.json: the pre-tokenizer from its split, the chat template from tokenizer_config.json") {
    const std::string dir = lm::testing::temp_path("hf_pre");
    std::filesystem::create_directories(dir);
    auto with_split = [&](const std::string& pre_tokenizer) {
        write_file(dir + "/tokenizer.json", R"json({"pre_tokenizer": )json" + pre_tokenizer + R"json(,
          "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "Ġ": 2, "ab": 3}, "merges": ["a b"]}})json");
        lm::Metadata meta;
        lm::read_hf_tokenizer(dir, meta);
        return meta;
    };
    const std::string qwen2 = R"json({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex":
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
        "behavior": "Isolated"}, {"type": "ByteLevel", "use_regex": false}]})json";
    CHECK(with_split(qwen2).get_string("tokenizer.ggml.pre") == "qwen2");
    std::string llama3 = qwen2;
    llama3.replace(llama3.find(R"(\\p{N}|)"), 8, R"(\\p{N}{1,3}|)");  // as JSON spells it
    const lm::Metadata l3 = with_split(llama3);
    CHECK(l3.get_string("tokenizer.ggml.pre") == "llama-bpe");
    CHECK(Tokenizer(l3).add_bos());  // as llama.cpp does for llama-bpe
    CHECK(with_split(R"json({"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true},
        {"type": "ByteLevel"}]})json").get_string("tokenizer.ggml.pre") == "smollm");
    CHECK(with_split(R"json({"type": "ByteLevel"})json").get_string("tokenizer.ggml.pre") == "gpt-2");
    // vocab.json + merges.txt are read first; tokenizer.json still names the split.
    write_file(dir + "/vocab.json", R"json({"a": 0, "b": 1, "Ġ": 2, "ab": 3})json");
    write_file(dir + "/merges.txt", "a b\n");
    write_file(dir + "/tokenizer_config.json",
               R"json({"chat_template": [{"name": "tool_use", "template": "x"},
                                         {"name": "default", "template": "{{'<|im_start|>' + role}}"}]})json");
    const lm::Metadata both = with_split(qwen2);
    CHECK(both.get_string("tokenizer.ggml.pre") == "qwen2");
    CHECK(both.get_string("tokenizer.chat_template") == "{{'<|im_start|>' + role}}");
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

TEST_CASE("SentencePiece tokenizer.model gives the llama-spm GGUF vocabulary") {
    std::string model = shared_file("models/llama2c-tokenizer/tokenizer.model");
    std::string gguf = shared_file("models/gguf-vocab/ggml-vocab-llama-spm.gguf");
    if (model.empty() || gguf.empty()) return;
    lm::Metadata from_model;
    lm::read_sentencepiece_model(model, from_model);
    lm::Metadata from_gguf = lm::load_model(gguf).meta;
    for (const char* key : {"tokenizer.ggml.tokens"})
        CHECK(*from_model.get_strings(key) == *from_gguf.get_strings(key));
    CHECK(*from_model.get_floats("tokenizer.ggml.scores") == *from_gguf.get_floats("tokenizer.ggml.scores"));
    CHECK(*from_model.get_ints("tokenizer.ggml.token_type") == *from_gguf.get_ints("tokenizer.ggml.token_type"));
    for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id"})
        CHECK(from_model.get_int(key) == from_gguf.get_int(key));
    Tokenizer tok = Tokenizer::from_files(model);
    check_vectors(tok, gguf, "ggml-vocab-llama-spm.gguf (from tokenizer.model)");
    CHECK(tok.encode("Hello", true) == std::vector<int32_t>{1, 15043});
}

TEST_CASE("hostile tokenizer.model") {
    std::string model = shared_file("models/llama2c-tokenizer/tokenizer.model");
    if (model.empty()) return;
    const std::string good = read_file(model);
    const std::string path = temp_path("mutated.model");
    uint32_t state = 17;
    auto next = [&] { return (state = state * 1664525u + 1013904223u) >> 8; };
    size_t rejected = 0;
    for (int i = 0; i < 200; ++i) {
        std::string m = good;
        for (int k = 0; k < 3; ++k) m[next() % m.size()] = static_cast<char>(next());
        if (i % 2) m.resize(next() % m.size() + 1);
        write_file(path, m);
        try {
            lm::Metadata meta;
            lm::read_sentencepiece_model(path, meta);
            Tokenizer(meta).encode("Hello world", true);
        } catch (const lm::Error&) {
            ++rejected;
        }
    }
    CHECK(rejected >= 50);
    write_file(path, std::string("\x0a\xff\xff\xff\xff\x0f", 6));  // a piece claiming 4 GB
    lm::Metadata meta;
    CHECK_THROWS_AS(lm::read_sentencepiece_model(path, meta), lm::Error);
    write_file(path, "\x0a\x03\x0a\x01" "a");  // one piece, no trainer spec: Unigram
    CHECK_THROWS_AS(lm::read_sentencepiece_model(path, meta), lm::Error);
}

}  // TEST_SUITE

TEST_SUITE("tokenizer") {

TEST_CASE("GPT-2 decoding agrees with llm.c's decode table") {
    std::string dir = shared_file("models/gpt2-vocab");
    std::string table_path = shared_file("models/gpt2-vocab/gpt2_tokenizer.bin");
    if (dir.empty() || table_path.empty()) return;
    // llm.c: 256 int32 header (magic 20240328, version, vocab size, eot), then per token
    // a uint8 length and the token's bytes.
    const std::string table = read_file(table_path);
    REQUIRE(table.size() >= 1024);
    int32_t header[4];
    std::memcpy(header, table.data(), sizeof header);
    REQUIRE(header[0] == 20240328);
    Tokenizer tok = Tokenizer::from_files(dir);
    REQUIRE(header[2] == tok.n_vocab());
    size_t pos = 1024, same = 0;
    for (int32_t id = 0; id < header[2]; ++id) {
        if (pos >= table.size() || pos + 1 + static_cast<uint8_t>(table[pos]) > table.size())
            FAIL("llm.c table truncated at token ", id);
        size_t len = static_cast<uint8_t>(table[pos]);
        std::string bytes = table.substr(pos + 1, len);
        pos += 1 + len;
        if (id == header[3]) continue;  // llm.c spells out <|endoftext|>; we print nothing
        same += tok.decode_token(-1, id) == bytes;
    }
    CHECK(same == static_cast<size_t>(header[2] - 1));
}

}  // TEST_SUITE

TEST_SUITE("tokenizer") {

TEST_CASE("looking tokens up by text") {
    std::string dir = shared_file("models/bert-vocab");
    if (dir.empty()) return;
    Tokenizer tok = Tokenizer::from_files(dir);
    CHECK(tok.find("[SEP]") == 102);
    CHECK(tok.find("\xE2\x96\x81hello") == 7592);  // GGUF spelling of a word start
    CHECK(tok.find("no such token") == -1);
}

}  // TEST_SUITE

TEST_SUITE("tokenizer") {

TEST_CASE("Llama 3 style byte-level BPE keeps whole-word tokens without merges") {
    lm::Metadata meta;
    meta.source = "llama3-like";
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; ++b) {
        tokens.emplace_back();
        lm::append_utf8(tokens.back(), lm::gpt2_byte_char(static_cast<uint8_t>(b)));
    }
    tokens.push_back("\xC4\xA0hello");  // "Ġhello", reachable by no merge
    meta.set("tokenizer.ggml.model", lm::Value::of_string("gpt2"));
    meta.set("tokenizer.ggml.tokens", lm::Value::of_strings(tokens));
    meta.set("tokenizer.ggml.merges", lm::Value::of_strings({}));
    meta.set("tokenizer.ggml.pre", lm::Value::of_string("llama-bpe"));
    Tokenizer llama3(meta);
    CHECK(llama3.encode(" hello", false) == std::vector<int32_t>{256});
    CHECK(llama3.decode(llama3.encode("say hello 12345", false)) == "say hello 12345");
    meta.set("tokenizer.ggml.pre", lm::Value::of_string("gpt-2"));
    CHECK(Tokenizer(meta).encode(" hello", false).size() == 6);
    // As in llama.cpp, only some names keep whole words: not DBRX's, though its rules are Llama 3's.
    for (const char* pre : {"qwen2", "dbrx", "smollm"}) {
        meta.set("tokenizer.ggml.pre", lm::Value::of_string(pre));
        CHECK(Tokenizer(meta).encode(" hello", false).size() == 6);
    }
    meta.set("tokenizer.ggml.pre", lm::Value::of_string("tekken"));
    CHECK(Tokenizer(meta).encode(" hello", false) == std::vector<int32_t>{256});
    meta.set("tokenizer.ggml.pre", lm::Value::of_string("qwen-9"));
    CHECK_THROWS_AS(Tokenizer{meta}, lm::Error);
}

}  // TEST_SUITE
