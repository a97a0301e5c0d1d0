// Training a byte-level BPE vocabulary on a corpus (`lm train --vocab N`).
#pragma once
#include <cstdint>
#include <string_view>

#include "weights/metadata.h"

namespace lm {

struct BpeTrainOptions {
    int32_t vocab_size = 4096;  // 256 byte tokens + merges + <|endoftext|>
    int64_t min_frequency = 2;  // a pair seen fewer times is never merged
};

// Learns GPT-2 style byte-level BPE on `corpus`: the GPT-2 pre-tokenizer splits it into words,
// then the most frequent adjacent pair is merged until vocab_size is reached (ties go to the
// pair of smaller ids). Fills the tokenizer.ggml.* keys of a "gpt2" tokenizer: the 256 byte
// tokens in GPT-2's order, one token per merge, then <|endoftext|> (control; BOS and EOS).
// Tokenizer(meta) then encodes any text, and llama.cpp reads the same keys.
// Throws lm::Error for a vocab_size below 257.
void train_bpe(std::string_view corpus, const BpeTrainOptions& options, Metadata& meta);

// A character-level vocabulary (`--tokenizer char`): one token per distinct byte of `corpus`,
// in byte order (so ids match char-rnn/nanoGPT's sorted(set(text)) on ASCII text), then
// <|endoftext|>. Stored as a "gpt2" tokenizer without merges; bytes the corpus never had are
// dropped when encoding.
void char_vocab(std::string_view corpus, Metadata& meta);

}  // namespace lm
