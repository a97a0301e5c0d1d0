// Learning byte-level BPE and character vocabularies from a corpus.
#include <algorithm>
#include <map>

#include "tokenizer/bpe_train.h"
#include "tokenizer/unicode.h"
#include "tokenizer/wordpiece_train.h"
#include "tests/test_tokenizer_helpers.h"
#include "weights/error.h"

using lm::Tokenizer;
using namespace lm::testing;

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

TEST_CASE("encode_documents: EOS in each separator's place, empty documents skipped") {
    lm::Metadata meta;
    lm::char_vocab("ab\n", meta);
    const Tokenizer tok(meta);
    const int32_t nl = 0, a = 1, b = 2, eos = 3;
    REQUIRE(tok.eos() == eos);
    REQUIRE(tok.encode("ab\n", false) == std::vector<int32_t>{a, b, nl});
    CHECK(lm::encode_documents(tok, "ab\n\nba\n\n\n\nb", "\n\n") == std::vector<int32_t>{a, b, eos, b, a, eos, b, eos});
    CHECK(lm::encode_documents(tok, "ab\n\n\nb\n\n", "\n\n") == std::vector<int32_t>{a, b, eos, nl, b, eos});
    CHECK(lm::encode_documents(tok, "\n\n", "\n\n").empty());
    CHECK(lm::encode_documents(tok, "ab\n\nb", "") == std::vector<int32_t>{a, b, nl, nl, b});  // no separator: as is
    CHECK(lm::encode_documents(tok, "ab|ba", "|") == std::vector<int32_t>{a, b, eos, b, a, eos});
}

}  // TEST_SUITE

TEST_CASE("encode_pieces gives encode's ids, a piece at a time, for the tokenizers lm trains with") {
    const std::string path = lm::testing::shared_file("corpora/tinyshakespeare.txt");
    if (path.empty()) return;
    // Spaces, blank lines, punctuation before newlines and a line with no newline after it.
    const std::string text = read_file(path).substr(0, 30000) + "\n \n\t x.\n\n\ny!\nlast line";
    std::vector<std::pair<std::string, lm::Metadata>> vocabularies(3);
    vocabularies[0].first = "char", lm::char_vocab(text, vocabularies[0].second);
    vocabularies[1].first = "byte-level BPE", lm::train_bpe(text, {600, 2}, vocabularies[1].second);
    vocabularies[2].first = "WordPiece", lm::train_wordpiece(text, {500, 2, 1000, lm::WordPieceScore::frequency},
                                                            vocabularies[2].second);
    for (const char* name : {"llama-spm", "gpt-2", "bert-bge"}) {
        const std::string vocab = shared_file(std::string("models/gguf-vocab/ggml-vocab-") + name + ".gguf");
        if (!vocab.empty()) vocabularies.emplace_back(name, lm::load_model(vocab).meta);
    }
    for (const auto& [name, meta] : vocabularies) {
        CAPTURE(name);
        const Tokenizer tok(meta);
        const std::vector<int32_t> whole = tok.encode(text, false);
        std::vector<int32_t> pieces;
        std::vector<size_t> ends;
        tok.encode_pieces(text, 100, [&](const std::vector<int32_t>& ids, size_t end) {
            pieces.insert(pieces.end(), ids.begin(), ids.end());
            ends.push_back(end);
        });
        CHECK(pieces == whole);
        CHECK(ends.size() > 200);  // about one cut per 100 bytes
        CHECK(ends.back() == text.size());
        for (size_t i = 0; i + 1 < ends.size(); ++i) {
            CHECK(text[ends[i] - 1] == '\n');
            CHECK(ends[i] - (i ? ends[i - 1] : 0) >= 100);
        }
    }
    // Without a newline between printable bytes the text is one piece.
    const Tokenizer tok(vocabularies[0].second);
    int calls = 0;
    tok.encode_pieces("no cut\n here, \n nor here", 2, [&](const std::vector<int32_t>& ids, size_t end) {
        ++calls;
        CHECK(ids.size() == 24);
        CHECK(end == 24);
    });
    CHECK(calls == 1);
}
