// Learning WordPiece vocabularies from a corpus, and the vocabularies BERT training reads.
#include <algorithm>
#include <map>

#include "src/train/export.h"
#include "tests/test_tokenizer_helpers.h"
#include "tokenizer/models.h"
#include "tokenizer/unicode.h"
#include "tokenizer/wordpiece_train.h"
#include "weights/error.h"
#include "weights/gguf.h"

using lm::Tokenizer;
using namespace lm::testing;

namespace {

const std::string kSpace = "\xE2\x96\x81";  // U+2581, the word-start mark

// What decode(encode(text)) gives for text the vocabulary spells: the normalized words, a
// space between them except before . , ! ?
std::string normalized(const std::string& text) {
    std::string out;
    for (const std::string& w : lm::bert_pretokenize(text, true)) {
        bool tight = w.size() == 1 && std::string_view(".,!?").find(w[0]) != std::string_view::npos;
        if (!out.empty() && !tight) out += ' ';
        out += w;
    }
    return out;
}

lm::Metadata trained(const std::string& corpus, int32_t vocab_size, int64_t min_frequency = 2,
                     lm::WordPieceScore score = lm::WordPieceScore::likelihood) {
    lm::Metadata meta;
    lm::train_wordpiece(corpus, {vocab_size, min_frequency, 1000, score}, meta);
    return meta;
}

const std::vector<std::string>& tokens_of(const lm::Metadata& meta) { return *meta.get_strings("tokenizer.ggml.tokens"); }

// The textbook trainer: recount every piece and pair after every merge, best score first
// (count(ab) / (count(a) * count(b)) unless by_frequency, then count(ab), then smaller ids).
std::vector<std::string> naive_wordpiece(const std::string& corpus, size_t vocab_size, bool by_frequency) {
    std::map<std::string, int64_t> counts;
    for (const std::string& w : lm::bert_pretokenize(corpus, true)) ++counts[w];
    std::vector<std::string> tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    std::map<std::string, int> ids;
    std::vector<uint32_t> alphabet;
    for (const auto& [w, c] : counts)
        for (size_t pos = 0; pos < w.size(); pos += lm::decode_utf8(w, pos).len)
            alphabet.push_back(lm::decode_utf8(w, pos).cp);
    std::sort(alphabet.begin(), alphabet.end());
    alphabet.erase(std::unique(alphabet.begin(), alphabet.end()), alphabet.end());
    for (const char* prefix : {"\xE2\x96\x81", ""})
        for (uint32_t cp : alphabet) {
            std::string t = prefix;
            lm::append_utf8(t, cp);
            ids[t] = static_cast<int>(tokens.size());
            tokens.push_back(t);
        }
    std::vector<std::pair<std::vector<int>, int64_t>> words;
    for (const auto& [w, c] : counts) {
        std::vector<int> s;
        for (size_t pos = 0, len; pos < w.size(); pos += len) {
            len = lm::decode_utf8(w, pos).len;
            s.push_back(ids.at((pos == 0 ? kSpace : "") + w.substr(pos, len)));
        }
        words.push_back({s, c});
    }
    while (tokens.size() < vocab_size) {
        std::map<int, int64_t> piece_counts;
        std::map<std::pair<int, int>, int64_t> pairs;
        for (const auto& [s, c] : words) {
            for (int p : s) piece_counts[p] += c;
            for (size_t i = 1; i < s.size(); ++i) pairs[{s[i - 1], s[i]}] += c;
        }
        std::pair<int, int> best{-1, -1};
        int64_t best_count = 0;
        __int128 best_denominator = 1;
        for (const auto& [p, c] : pairs) {
            if (c < 2) continue;
            __int128 denominator = by_frequency ? 1 : static_cast<__int128>(piece_counts[p.first]) * piece_counts[p.second];
            __int128 lhs = c * best_denominator, rhs = best_count * denominator;
            if (best.first < 0 || lhs > rhs || (lhs == rhs && c > best_count))  // map order: ties keep smaller ids
                best = p, best_count = c, best_denominator = denominator;
        }
        if (best.first < 0) break;
        std::string text = tokens[best.first] + tokens[best.second];
        if (!ids.count(text)) ids[text] = static_cast<int>(tokens.size()), tokens.push_back(text);
        const int merged = ids[text];
        for (auto& [s, c] : words) {
            std::vector<int> t;
            for (size_t i = 0; i < s.size(); ++i) {
                if (i + 1 < s.size() && s[i] == best.first && s[i + 1] == best.second) t.push_back(merged), ++i;
                else t.push_back(s[i]);
            }
            s = t;
        }
    }
    return tokens;
}

std::string stories_prefix(size_t bytes) {
    std::string path = shared_file("corpora/stories-260K-samples.txt");
    if (path.empty()) return "";
    std::string corpus = read_file(path);
    return corpus.substr(0, corpus.find('\n', bytes));
}

}  // namespace

TEST_SUITE("tokenizer") {

TEST_CASE("WordPiece training: merge order by hand") {
    // Each merge, score = count(ab) / (count(a) count(b)) over the corpus as segmented so far:
    //   g ##s 5/(20*5)           (the rest 1/36)
    //   p ##u 17/(17*36)         (six pairs tie at 1/36: the most frequent pair wins)
    //   h ##u 15/(15*19)         (ties 1/19 with ##u ##gs 5/(19*5) and b ##u 4/(4*19))
    //   b ##u 4/(4*4)
    //   hu ##gs 5/(15*5)         (bu ##n 4/(4*16))
    //   hu ##g 10/(10*15)
    //   bu ##n 4/(4*16)          (pu ##g 5/(17*15) = 0.020, pu ##n 12/(17*16) = 0.044)
    //   pu ##n 12/(17*12)        (ties 1/17 with pu ##g 5/(17*5): the more frequent wins)
    //   pu ##g 5/(17*5)
    std::string corpus;
    for (auto [word, n] : std::vector<std::pair<const char*, int>>{{"hug ", 10}, {"pug ", 5}, {"pun ", 12}, {"bun ", 4}, {"hugs ", 5}})
        for (int i = 0; i < n; ++i) corpus += word;
    const std::vector<std::string> merged = {"gs", "▁pu", "▁hu", "▁bu", "▁hugs", "▁hug", "▁bun", "▁pun", "▁pug"};
    lm::Metadata meta = trained(corpus, 1000);
    const std::vector<std::string>& tokens = tokens_of(meta);
    REQUIRE(tokens.size() == 5 + 14 + merged.size());  // every word is one token: nothing left to merge
    CHECK(std::vector<std::string>(tokens.begin() + 5, tokens.begin() + 12) ==
          std::vector<std::string>{"▁b", "▁g", "▁h", "▁n", "▁p", "▁s", "▁u"});
    CHECK(std::vector<std::string>(tokens.begin() + 12, tokens.begin() + 19) ==
          std::vector<std::string>{"b", "g", "h", "n", "p", "s", "u"});
    CHECK(std::vector<std::string>(tokens.begin() + 19, tokens.end()) == merged);
    // A smaller vocabulary stops after the first merges.
    const lm::Metadata small = trained(corpus, 22);
    const std::vector<std::string>& three = tokens_of(small);
    CHECK(std::vector<std::string>(three.begin() + 19, three.end()) ==
          std::vector<std::string>(merged.begin(), merged.begin() + 3));
    Tokenizer tok(meta);
    CHECK(tok.encode("hugs bug", false) == std::vector<int32_t>{23, 22, 13});  // hugs, bu ##g: "bug" was never seen
}

TEST_CASE("WordPiece training matches the textbook algorithm") {
    // Words over a tiny alphabet reach the same piece by several merge paths ("##ab" + "##a"
    // and "##a" + "##ba"): such a merge reuses the existing token.
    std::string corpus;
    uint32_t state = 7;
    auto next = [&] { return (state = state * 1664525u + 1013904223u) >> 16; };
    for (int i = 0; i < 4000; ++i) {
        size_t len = 1 + next() % 9;
        for (size_t k = 0; k < len; ++k) corpus += "abc"[next() % 3];
        corpus += i % 13 == 0 ? ". " : " ";
    }
    corpus += "Ünïcödé café 東京 naïve CAFÉ!";
    for (int32_t n : {40, 200, 600}) {
        CAPTURE(n);
        CHECK(tokens_of(trained(corpus, n)) == naive_wordpiece(corpus, n, false));
        CHECK(tokens_of(trained(corpus, n, 2, lm::WordPieceScore::frequency)) == naive_wordpiece(corpus, n, true));
    }
}

TEST_CASE("WordPiece training: round trips and special tokens") {
    std::string corpus;
    for (int i = 0; i < 30; ++i)
        corpus += "The quick brown fox, jumping over the lazy dog! Café Ñandú résumé... "
                  "東京は日本の首都です。 (Parenthesized) \"quoted\" don't 3.14 x+y=z\n";
    lm::Metadata meta = trained(corpus, 120);
    Tokenizer tok(meta);
    CHECK(tok.model() == "bert");
    CHECK(tok.n_vocab() == 120);
    const char* specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int32_t id = 0; id < 5; ++id) {
        CHECK(tok.token_text(id) == specials[id]);
        CHECK(tok.token_type(id) == lm::TokenType::control);
    }
    CHECK(tok.token_type(5) == lm::TokenType::normal);
    CHECK(tok.bos() == lm::kWordPieceCls);
    CHECK(tok.eos() == lm::kWordPieceSep);
    CHECK(tok.unk() == lm::kWordPieceUnk);
    CHECK(tok.pad() == lm::kWordPiecePad);
    CHECK(tok.mask() == lm::kWordPieceMask);
    CHECK(meta.get_int("tokenizer.ggml.cls_token_id") == lm::kWordPieceCls);
    CHECK(meta.get_int("tokenizer.ggml.seperator_token_id") == lm::kWordPieceSep);

    std::vector<int32_t> ids = tok.encode("the fox", true);
    CHECK(ids.front() == lm::kWordPieceCls);
    CHECK(ids.back() == lm::kWordPieceSep);
    CHECK(tok.encode("[MASK] fox", false, true).front() == lm::kWordPieceMask);

    CHECK(tok.decode(tok.encode("Héllo, WORLD! 東京 (ok)", false)) == "hello, world! 東 京 ( ok )");
    for (const std::string text : {"The lazy DOG jumps.", "RÉSUMÉ of a naïve café", "日本の首都は東京です。",
                                   "(\"x+y=z\", don't!) ... 3.14", "  \t spaced \n out  "}) {
        CAPTURE(text);
        ids = tok.encode(text, false);
        CHECK(std::find(ids.begin(), ids.end(), tok.unk()) == ids.end());
        CHECK(tok.decode(ids) == normalized(text));
    }
    CHECK(tok.decode(tok.encode(corpus, false)) == normalized(corpus));
    // Characters the corpus never had are unknown; their word becomes [UNK].
    CHECK(tok.encode("fox жук", false).back() == tok.unk());
    CHECK_THROWS_AS(lm::train_wordpiece(corpus, {6, 2, 0}, meta), lm::Error);
}

TEST_CASE("WordPiece training: vocabulary size") {
    // The alphabet does not fit in 5 + 2 * 3 tokens: the three most frequent characters stay.
    lm::Metadata small = trained("aaaa bbb cc d e", 11);
    CHECK(tokens_of(small) == std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "▁a", "▁b", "▁c",
                                                        "a", "b", "c"});
    Tokenizer tok(small);
    CHECK(tok.encode("d aa", false) == std::vector<int32_t>{1, 5, 8});
    // A corpus whose words are all single tokens cannot fill a large vocabulary.
    CHECK(tokens_of(trained("ab ab ab", 100)).size() == 5 + 4 + 1);
    CHECK(tokens_of(trained("", 100)).size() == 5);
    // min_frequency: a pair seen once is never merged.
    CHECK(tokens_of(trained("ab", 100)).size() == 5 + 4);
    CHECK(tokens_of(trained("ab", 100, 1)).size() == 5 + 4 + 1);
}

TEST_CASE("WordPiece training on TinyStories") {
    const std::string corpus = stories_prefix(300000);
    if (corpus.empty()) return;
    const size_t n_words = lm::bert_pretokenize(corpus, true).size();
    for (lm::WordPieceScore score : {lm::WordPieceScore::likelihood, lm::WordPieceScore::frequency}) {
        const bool by_frequency = score == lm::WordPieceScore::frequency;
        CAPTURE(by_frequency);
        lm::Metadata meta = trained(corpus, 2000, 2, score);
        Tokenizer tok(meta);
        CHECK(tok.n_vocab() == 2000);
        std::vector<int32_t> ids = tok.encode(corpus, false);
        CHECK(std::count(ids.begin(), ids.end(), tok.unk()) == 0);  // every word of the corpus is spelled
        CHECK(tok.decode(ids) == normalized(corpus));
        const double per_word = static_cast<double>(ids.size()) / static_cast<double>(n_words);
        MESSAGE("TinyStories 300 kB, 2000 WordPiece tokens by ", std::string(by_frequency ? "frequency" : "likelihood"), ": ",
                per_word, " tokens per word");
        CHECK(per_word < (by_frequency ? 1.05 : 1.7));
        if (by_frequency) CHECK(tok.find(kSpace + "the") >= 0);

        // Deterministic to the byte, and the same tokenizer after a trip through a GGUF file.
        lm::Metadata again = trained(corpus, 2000, 2, score);
        const std::string a = temp_path("wordpiece_a.gguf"), b = temp_path("wordpiece_b.gguf");
        lm::write_gguf(a, meta, {});
        lm::write_gguf(b, again, {});
        CHECK(read_file(a) == read_file(b));
        lm::Metadata from_file;
        lm::train_tokenizer_metadata(lm::load_model(a).meta, from_file);  // as `--tokenizer MODEL.gguf` reads it
        Tokenizer reread(from_file);
        CHECK(reread.n_vocab() == tok.n_vocab());
        CHECK(reread.encode(corpus, true) == tok.encode(corpus, true));
        CHECK(*from_file.get_strings("tokenizer.ggml.tokens") == *meta.get_strings("tokenizer.ggml.tokens"));
    }
}

TEST_CASE("WordPiece vocabularies for BERT training: vocab.txt under any name") {
    std::string path = shared_file("models/bert-vocab/vocab.txt");
    if (path.empty()) return;
    const std::string copy = temp_path("my-uncased-vocab.txt");
    write_file(copy, read_file(path));
    lm::Metadata meta;
    lm::read_hf_tokenizer(copy, meta);  // as `--tokenizer vocab.txt` reads it
    Tokenizer tok(meta);
    CHECK(tok.model() == "bert");
    CHECK(tok.n_vocab() == 30522);
    CHECK(tok.bos() == 101);
    CHECK(tok.eos() == 102);
    CHECK(tok.mask() == 103);
    CHECK(tok.pad() == 0);
    CHECK(tok.encode("The capital of France is Paris.", true) ==
          std::vector<int32_t>{101, 1996, 3007, 1997, 2605, 2003, 3000, 1012, 102});
}

}  // TEST_SUITE
