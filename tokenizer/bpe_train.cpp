// Learning a GPT-2 style byte-level BPE from a corpus: split it with the GPT-2 pre-tokenizer,
// count the words, then repeatedly merge the most frequent adjacent pair of symbols.
#include <algorithm>
#include <queue>

#include "tokenizer/bpe_train.h"
#include "tokenizer/models.h"
#include "tokenizer/unicode.h"
#include "weights/error.h"

namespace lm {

namespace {

uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

struct Word {
    std::vector<int32_t> symbols;
    int64_t count;
    int32_t stamp = -1;  // the last merge that rewrote this word
};

struct Candidate {
    int64_t count;
    uint64_t pair;
    // Most frequent first; on ties the smaller pair of ids, as Hugging Face's trainer does.
    bool operator<(const Candidate& o) const { return count < o.count || (count == o.count && pair > o.pair); }
};

class Trainer {
public:
    explicit Trainer(std::string_view corpus) {
        add_byte_tokens();
        std::unordered_map<std::string_view, int64_t> counts;  // views into the corpus
        // A piece at a time: the pre-tokenizer's working memory is many times its text's size.
        for (size_t begin = 0, end; begin < corpus.size(); begin = end) {
            end = piece_end(corpus, begin, size_t{1} << 16);
            for (std::string_view word : gpt2_pretokenize(corpus.substr(begin, end - begin))) ++counts[word];
        }
        for (const auto& [text, count] : counts) {
            Word w{{}, count};
            for (char c : text) w.symbols.push_back(byte_id_[static_cast<uint8_t>(c)]);
            words_.push_back(std::move(w));
        }
        // A fixed word order makes the result independent of the hash map's.
        std::sort(words_.begin(), words_.end(), [](const Word& a, const Word& b) { return a.symbols < b.symbols; });
        for (size_t i = 0; i < words_.size(); ++i) add_pairs(i, +1);
        for (const auto& [pair, count] : pair_counts_) queue_.push({count, pair});
    }

    // One merge of the most frequent pair seen at least min_count times; false when none is.
    bool merge_best(int64_t min_count) {
        while (!queue_.empty()) {
            Candidate c = queue_.top();
            queue_.pop();
            auto it = pair_counts_.find(c.pair);
            int64_t now = it == pair_counts_.end() ? 0 : it->second;
            if (now != c.count) {  // stale: counts changed since it was queued
                if (now > 0) queue_.push({now, c.pair});
                continue;
            }
            if (c.count < min_count) return false;
            apply(c.pair);
            return true;
        }
        return false;
    }

    std::vector<std::string> tokens;
    std::vector<std::string> merges;

private:
    // The 256 byte tokens in the order of their stand-in characters, as GPT-2's vocabulary.
    void add_byte_tokens() {
        std::vector<std::pair<uint32_t, int>> chars;
        for (int b = 0; b < 256; ++b) chars.emplace_back(gpt2_byte_char(static_cast<uint8_t>(b)), b);
        std::sort(chars.begin(), chars.end());
        for (const auto& [cp, b] : chars) {
            byte_id_[b] = static_cast<int32_t>(tokens.size());
            tokens.emplace_back();
            append_utf8(tokens.back(), cp);
        }
    }

    void add_pairs(size_t w, int sign) {
        const Word& word = words_[w];
        for (size_t i = 1; i < word.symbols.size(); ++i) {
            uint64_t key = pair_key(word.symbols[i - 1], word.symbols[i]);
            int64_t& count = pair_counts_[key];
            count += sign * word.count;
            if (sign > 0) where_[key].push_back(static_cast<uint32_t>(w));
            changed_.push_back(key);
        }
    }

    void apply(uint64_t pair) {
        const int32_t a = static_cast<int32_t>(pair >> 32), b = static_cast<int32_t>(pair & 0xFFFFFFFF);
        const int32_t merged = static_cast<int32_t>(tokens.size());
        tokens.push_back(tokens[a] + tokens[b]);
        merges.push_back(tokens[a] + " " + tokens[b]);
        std::vector<uint32_t> holders;
        holders.swap(where_[pair]);
        changed_.clear();
        for (uint32_t w : holders) {
            Word& word = words_[w];
            if (word.stamp == merged) continue;  // listed twice
            word.stamp = merged;
            add_pairs(w, -1);  // a word's pairs are recounted around its rewrite
            std::vector<int32_t>& s = word.symbols;
            size_t out = 0;
            for (size_t i = 0; i < s.size(); ++i) {
                if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) s[out++] = merged, ++i;
                else s[out++] = s[i];
            }
            s.resize(out);
            add_pairs(w, +1);
        }
        std::sort(changed_.begin(), changed_.end());
        changed_.erase(std::unique(changed_.begin(), changed_.end()), changed_.end());
        for (uint64_t key : changed_) {
            auto it = pair_counts_.find(key);
            if (it == pair_counts_.end()) continue;
            if (it->second <= 0) pair_counts_.erase(it);
            else queue_.push({it->second, key});
        }
        pair_counts_.erase(pair);
    }

    int32_t byte_id_[256];
    std::vector<Word> words_;
    std::unordered_map<uint64_t, int64_t> pair_counts_;
    std::unordered_map<uint64_t, std::vector<uint32_t>> where_;
    std::vector<uint64_t> changed_;
    std::priority_queue<Candidate> queue_;
};

}  // namespace

namespace {

// tokens + <|endoftext|> as a "gpt2" tokenizer.
void set_byte_level(std::vector<std::string> tokens, std::vector<std::string> merges, Metadata& meta) {
    std::vector<int64_t> types(tokens.size(), static_cast<int64_t>(TokenType::normal));
    const auto eot = static_cast<int64_t>(tokens.size());
    tokens.push_back("<|endoftext|>");
    types.push_back(static_cast<int64_t>(TokenType::control));
    meta.set("tokenizer.ggml.model", Value::of_string("gpt2"));
    meta.set("tokenizer.ggml.pre", Value::of_string("gpt-2"));
    meta.set("tokenizer.ggml.tokens", Value::of_strings(std::move(tokens)));
    meta.set("tokenizer.ggml.token_type", Value::of_ints(ValueType::I32, std::move(types)));
    meta.set("tokenizer.ggml.merges", Value::of_strings(std::move(merges)));
    meta.set("tokenizer.ggml.bos_token_id", Value::of_int(ValueType::U32, eot));
    meta.set("tokenizer.ggml.eos_token_id", Value::of_int(ValueType::U32, eot));
}

}  // namespace

void train_bpe(std::string_view corpus, const BpeTrainOptions& options, Metadata& meta) {
    if (options.vocab_size < 257 || options.vocab_size > (1 << 24))
        fail("--vocab: ", options.vocab_size, " is outside 257..16777216 (256 bytes + <|endoftext|> at least)");
    Trainer trainer(corpus);
    while (static_cast<int32_t>(trainer.tokens.size()) < options.vocab_size - 1 &&
           trainer.merge_best(std::max<int64_t>(options.min_frequency, 1))) {
    }
    set_byte_level(std::move(trainer.tokens), std::move(trainer.merges), meta);
}

void char_vocab(std::string_view corpus, Metadata& meta) {
    bool present[256] = {};
    for (char c : corpus) present[static_cast<uint8_t>(c)] = true;
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; ++b) {
        if (!present[b]) continue;
        tokens.emplace_back();
        append_utf8(tokens.back(), gpt2_byte_char(static_cast<uint8_t>(b)));
    }
    set_byte_level(std::move(tokens), {}, meta);
}

}  // namespace lm
