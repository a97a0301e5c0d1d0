// Learning a WordPiece vocabulary: split the corpus into words as the "bert" Tokenizer does,
// spell every word as its first character "c" followed by continuations "##c", then
// repeatedly merge the adjacent pair of pieces with the highest likelihood score
//
//     score(a, b) = count(ab) / (count(a) * count(b))
//
// where counts are occurrences in the corpus as currently segmented: how much more often a
// and b occur together than a unigram model of the pieces predicts, Schuster & Nakajima's
// criterion in the form the Hugging Face course gives for WordPiece. It favours pieces that
// always occur together over frequent ones, so WordPieceScore::frequency offers plain
// count(ab) instead, as Hugging Face's WordPieceTrainer (a BPE trainer) ranks. The merges
// only build the vocabulary: encoding is BERT's greedy longest match (wordpiece_encode), not
// a replay of the merges.
//
// Pair counts are kept per distinct word and updated only in the words a merge rewrites. A
// merge also changes count(a) and count(b), so every pair containing a or b is requeued with
// its new score; queued entries whose counts no longer hold are dropped when they surface.
#include "tokenizer/wordpiece_train.h"

#include <algorithm>
#include <queue>

#include "tokenizer/models.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"
#include "weights/error.h"

namespace lm {

namespace {

const char* const kSpecialTexts[kWordPieceSpecials] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
const std::string_view kWordStart = "\xE2\x96\x81";  // U+2581, llama.cpp's mark of a word-initial piece
constexpr uint32_t kWordStartCp = 0x2581;

uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
int32_t left_of(uint64_t pair) { return static_cast<int32_t>(pair >> 32); }
int32_t right_of(uint64_t pair) { return static_cast<int32_t>(pair & 0xFFFFFFFF); }

// Distinct words of the corpus and how often each occurs, in byte order.
std::vector<std::pair<std::string, int64_t>> count_words(std::string_view corpus) {
    StringMap<int64_t> counts;
    // Newlines end words, so splitting the corpus at them changes nothing and bounds memory.
    constexpr size_t kChunk = 1 << 20;
    for (size_t pos = 0; pos < corpus.size();) {
        size_t end = std::min(corpus.size(), pos + kChunk);
        if (end < corpus.size()) {
            size_t newline = corpus.find('\n', end);
            end = newline == std::string_view::npos ? corpus.size() : newline + 1;
        }
        for (std::string& w : bert_pretokenize(corpus.substr(pos, end - pos), true)) ++counts[std::move(w)];
        pos = end;
    }
    std::vector<std::pair<std::string, int64_t>> words(counts.begin(), counts.end());
    std::sort(words.begin(), words.end());
    return words;
}

std::vector<uint32_t> code_points(std::string_view word) {
    std::vector<uint32_t> cps;
    for (size_t pos = 0; pos < word.size();) {
        Decoded d = decode_utf8(word, pos);
        cps.push_back(d.cp);
        pos += d.len;
    }
    return cps;
}

struct Word {
    std::vector<int32_t> symbols;
    int64_t count;
    int32_t stamp = -1;  // the last merge that rewrote this word
};

struct Candidate {
    int64_t pair_count, left_count, right_count;
    uint64_t pair;
};

// Orders a max-heap of candidates: `lower(x, y)` when x merges after y.
struct Lower {
    WordPieceScore score;
    bool operator()(const Candidate& x, const Candidate& y) const {
        if (score == WordPieceScore::likelihood) {
            // Exact in integers: x.n / (x.l * x.r) < y.n / (y.l * y.r) iff x.n * y.l * y.r < y.n * x.l * x.r.
            using u128 = unsigned __int128;
            const u128 lhs = static_cast<u128>(x.pair_count) * static_cast<u128>(y.left_count) * static_cast<u128>(y.right_count);
            const u128 rhs = static_cast<u128>(y.pair_count) * static_cast<u128>(x.left_count) * static_cast<u128>(x.right_count);
            if (lhs != rhs) return lhs < rhs;
        }
        if (x.pair_count != y.pair_count) return x.pair_count < y.pair_count;
        return x.pair > y.pair;
    }
};

class Trainer {
public:
    Trainer(std::string_view corpus, const WordPieceTrainOptions& options)
        : min_count_(std::max<int64_t>(options.min_frequency, 1)), score_(options.score), queue_(Lower{score_}) {
        for (const char* text : kSpecialTexts) add_token(text);
        std::vector<std::pair<std::string, int64_t>> words = count_words(corpus);
        // Words encode to [UNK] past kWordPieceMaxChars characters; U+2581 would read as a word start.
        std::vector<std::vector<uint32_t>> spelled(words.size());
        std::unordered_map<uint32_t, int64_t> char_counts;
        for (size_t i = 0; i < words.size(); ++i) {
            std::vector<uint32_t> cps = code_points(words[i].first);
            bool usable = cps.size() <= kWordPieceMaxChars &&
                          std::find(cps.begin(), cps.end(), kWordStartCp) == cps.end();
            if (!usable) continue;
            for (uint32_t cp : cps) char_counts[cp] += words[i].second;
            spelled[i] = std::move(cps);
        }
        add_alphabet(char_counts, alphabet_limit(options));
        for (size_t i = 0; i < words.size(); ++i) {
            Word w{{}, words[i].second};
            bool spellable = !spelled[i].empty();
            for (size_t k = 0; spellable && k < spelled[i].size(); ++k) {
                auto it = char_ids_.find(spelled[i][k]);
                spellable = it != char_ids_.end();  // else a character left out of the alphabet
                if (spellable) w.symbols.push_back(k == 0 ? it->second.first : it->second.second);
            }
            if (!spellable) continue;
            for (int32_t s : w.symbols) symbol_counts_[s] += w.count;
            words_.push_back(std::move(w));
        }
        for (size_t i = 0; i < words_.size(); ++i) add_pairs(i, +1);
        changed_.clear();
        for (const auto& [pair, count] : pair_counts_) consider(pair);
    }

    // One merge of the best pair seen at least min_frequency times; false when there is none.
    bool merge_best() {
        while (!queue_.empty()) {
            Candidate c = queue_.top();
            queue_.pop();
            if (!current(c)) continue;  // its counts changed since it was queued
            apply(c.pair);
            if (queue_.size() > 2 * pair_counts_.size() + (1 << 16)) requeue_all();
            return true;
        }
        return false;
    }

    std::vector<std::string> tokens;  // llama.cpp's spelling: "▁c" starts a word, "c" continues one

private:
    static int32_t alphabet_limit(const WordPieceTrainOptions& options) {
        int32_t fits = (options.vocab_size - kWordPieceSpecials) / 2;
        return options.max_alphabet > 0 ? std::min(fits, options.max_alphabet) : fits;
    }

    int32_t add_token(std::string text) {
        auto [it, added] = ids_.try_emplace(text, static_cast<int32_t>(tokens.size()));
        if (added) {
            tokens.push_back(std::move(text));
            symbol_counts_.push_back(0);
            pairs_of_.emplace_back();
        }
        return it->second;
    }

    // The `limit` most frequent characters (ties: the smaller code point), as word starts in
    // code point order, then as continuations in the same order.
    void add_alphabet(const std::unordered_map<uint32_t, int64_t>& char_counts, int32_t limit) {
        std::vector<std::pair<int64_t, uint32_t>> by_count;
        for (const auto& [cp, count] : char_counts) by_count.emplace_back(-count, cp);
        std::sort(by_count.begin(), by_count.end());
        if (by_count.size() > static_cast<size_t>(limit)) by_count.resize(limit);
        std::vector<uint32_t> alphabet;
        for (const auto& [count, cp] : by_count) alphabet.push_back(cp);
        std::sort(alphabet.begin(), alphabet.end());
        for (uint32_t cp : alphabet) {
            std::string text(kWordStart);
            append_utf8(text, cp);
            char_ids_[cp].first = add_token(std::move(text));
        }
        for (uint32_t cp : alphabet) {
            std::string text;
            append_utf8(text, cp);
            char_ids_[cp].second = add_token(std::move(text));
        }
    }

    bool current(const Candidate& c) const {
        auto it = pair_counts_.find(c.pair);
        return it != pair_counts_.end() && it->second == c.pair_count &&
               symbol_counts_[left_of(c.pair)] == c.left_count && symbol_counts_[right_of(c.pair)] == c.right_count;
    }

    void consider(uint64_t pair) {
        auto it = pair_counts_.find(pair);
        if (it == pair_counts_.end() || it->second < min_count_) return;
        queue_.push({it->second, symbol_counts_[left_of(pair)], symbol_counts_[right_of(pair)], pair});
    }

    void add_pairs(size_t w, int sign) {
        const Word& word = words_[w];
        for (size_t i = 1; i < word.symbols.size(); ++i) {
            const int32_t a = word.symbols[i - 1], b = word.symbols[i];
            const uint64_t key = pair_key(a, b);
            auto [it, added] = pair_counts_.try_emplace(key, 0);
            it->second += sign * word.count;
            if (added) {  // a pair starts to exist: its pieces list it
                pairs_of_[a].push_back(key);
                if (b != a) pairs_of_[b].push_back(key);
            }
            if (sign > 0) where_[key].push_back(static_cast<uint32_t>(w));
            changed_.push_back(key);
        }
    }

    // The counts of `symbol` changed, so did the score of every pair it is in.
    void requeue_pairs_of(int32_t symbol) {
        std::vector<uint64_t>& pairs = pairs_of_[symbol];
        std::sort(pairs.begin(), pairs.end());
        pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
        std::erase_if(pairs, [&](uint64_t p) { return !pair_counts_.count(p); });
        for (uint64_t p : pairs) consider(p);
    }

    void apply(uint64_t pair) {
        const int32_t a = left_of(pair), b = right_of(pair);
        const int32_t merged = add_token(tokens[a] + tokens[b]);  // may already exist, reached another way
        const int32_t stamp = ++n_merges_;
        std::vector<uint32_t> holders;
        holders.swap(where_[pair]);
        changed_.clear();
        for (uint32_t w : holders) {
            Word& word = words_[w];
            if (word.stamp == stamp) continue;  // listed twice
            word.stamp = stamp;
            add_pairs(w, -1);  // a word's pairs are recounted around its rewrite
            std::vector<int32_t>& s = word.symbols;
            size_t out = 0;
            for (size_t i = 0; i < s.size(); ++i) {
                if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
                    s[out++] = merged, ++i;
                    symbol_counts_[a] -= word.count;
                    symbol_counts_[b] -= word.count;
                    symbol_counts_[merged] += word.count;
                } else {
                    s[out++] = s[i];
                }
            }
            s.resize(out);
            add_pairs(w, +1);
        }
        pair_counts_.erase(pair);
        std::sort(changed_.begin(), changed_.end());
        changed_.erase(std::unique(changed_.begin(), changed_.end()), changed_.end());
        for (uint64_t key : changed_) {
            auto it = pair_counts_.find(key);
            if (it != pair_counts_.end() && it->second <= 0) pair_counts_.erase(it);
            else consider(key);
        }
        for (int32_t s : {a, b, merged}) requeue_pairs_of(s);
    }

    // Drops the stale entries that pile up in the queue.
    void requeue_all() {
        queue_ = Queue(Lower{score_});
        for (const auto& [pair, count] : pair_counts_) consider(pair);
    }

    int64_t min_count_;
    WordPieceScore score_;
    int32_t n_merges_ = 0;
    StringMap<int32_t> ids_;
    std::unordered_map<uint32_t, std::pair<int32_t, int32_t>> char_ids_;  // code point -> (start, continuation)
    std::vector<Word> words_;
    std::vector<int64_t> symbol_counts_;            // per token id
    std::vector<std::vector<uint64_t>> pairs_of_;   // per token id: pairs it is in (stale entries allowed)
    std::unordered_map<uint64_t, int64_t> pair_counts_;
    std::unordered_map<uint64_t, std::vector<uint32_t>> where_;  // pair -> words that had it
    std::vector<uint64_t> changed_;
    using Queue = std::priority_queue<Candidate, std::vector<Candidate>, Lower>;
    Queue queue_;
};

}  // namespace

void train_wordpiece(std::string_view corpus, const WordPieceTrainOptions& options, Metadata& meta) {
    if (options.vocab_size < kWordPieceSpecials + 2 || options.vocab_size > (1 << 24))
        fail("--vocab: ", options.vocab_size, " is outside ", kWordPieceSpecials + 2,
             "..16777216 (5 special tokens and one character at least)");
    Trainer trainer(corpus, options);
    while (static_cast<int32_t>(trainer.tokens.size()) < options.vocab_size && trainer.merge_best()) {
    }
    std::vector<int64_t> types(trainer.tokens.size(), static_cast<int64_t>(TokenType::normal));
    std::fill(types.begin(), types.begin() + kWordPieceSpecials, static_cast<int64_t>(TokenType::control));
    auto id = [](int32_t v) { return Value::of_int(ValueType::U32, v); };
    meta.set("tokenizer.ggml.model", Value::of_string("bert"));
    meta.set("tokenizer.ggml.tokens", Value::of_strings(std::move(trainer.tokens)));
    meta.set("tokenizer.ggml.token_type", Value::of_ints(ValueType::I32, std::move(types)));
    meta.set("tokenizer.ggml.padding_token_id", id(kWordPiecePad));
    meta.set("tokenizer.ggml.unknown_token_id", id(kWordPieceUnk));
    meta.set("tokenizer.ggml.cls_token_id", id(kWordPieceCls));
    meta.set("tokenizer.ggml.bos_token_id", id(kWordPieceCls));  // llama.cpp versions that read [CLS] as BOS
    meta.set("tokenizer.ggml.seperator_token_id", id(kWordPieceSep));  // sic, llama.cpp's key
    meta.set("tokenizer.ggml.mask_token_id", id(kWordPieceMask));
}

}  // namespace lm
