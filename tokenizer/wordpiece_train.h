// Training a BERT WordPiece vocabulary on a corpus (`lm train --arch bert --vocab N`).
#pragma once
#include <cstdint>
#include <string_view>

#include "weights/metadata.h"

namespace lm {

// What ranks the candidate merges of pieces a and b (counts over the corpus as segmented so far).
enum class WordPieceScore {
    likelihood,  // count(ab) / (count(a) * count(b)): the Hugging Face course's WordPiece, after Schuster & Nakajima
    frequency,   // count(ab): what Hugging Face's WordPieceTrainer (a BPE trainer) ranks by
};

struct WordPieceTrainOptions {
    int32_t vocab_size = 8192;   // special tokens + alphabet + merged pieces
    int64_t min_frequency = 2;   // a pair seen fewer times is never merged
    int32_t max_alphabet = 1000;  // most frequent characters kept (0: all); each is two tokens
    WordPieceScore score = WordPieceScore::likelihood;
};

// The special tokens of a trained vocabulary, at ids 0..4 in this order: the compact layout of
// Hugging Face's BertWordPieceTokenizer (bert-base-uncased instead has [PAD] 0, [UNK] 100,
// [CLS] 101, [SEP] 102, [MASK] 103 around [unused] slots; the metadata names the ids, so
// Tokenizer and llama.cpp find them either way).
constexpr int32_t kWordPiecePad = 0, kWordPieceUnk = 1, kWordPieceCls = 2, kWordPieceSep = 3, kWordPieceMask = 4;
constexpr int32_t kWordPieceSpecials = 5;

// Learns a WordPiece vocabulary on `corpus`, split into words exactly as the "bert" Tokenizer
// encodes (bert_words: BERT's uncased normalizer, punctuation and CJK characters as words).
// Vocabulary: the five special tokens, then every kept character as a word start ("c") and
// as a continuation ("##c"), then merged pieces in the order they were learned (best score
// first; ties go to the larger count(ab), then to the pair of smaller ids), until vocab_size
// tokens (fewer when every word is already one token or no pair occurs
// min_frequency times). When the alphabet does not fit, only the most frequent characters
// are kept and words with other characters are left out (they encode as [UNK]).
// Fills the tokenizer.ggml.* keys of a "bert" tokenizer in llama.cpp's spelling ("▁c" starts
// a word, a bare "c" continues one), so Tokenizer(meta) encodes with it. Deterministic: the
// same corpus and options give the same vocabulary. Throws lm::Error for a vocab_size below
// 7 (the special tokens and one character).
void train_wordpiece(std::string_view corpus, const WordPieceTrainOptions& options, Metadata& meta);

}  // namespace lm
