// The three tokenizer algorithms behind lm::Tokenizer, each a pair of plain functions over a
// Vocab: encode one fragment of raw text (no special tokens in it), and decode one token.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace lm {

// --- SentencePiece BPE (tokenizer/spm.cpp), llama.cpp's "llama" model -------------------
struct SpmModel {
    std::array<int32_t, 256> byte_ids;  // id of "<0xNN>" per byte, -1 when absent
    int32_t unk_id = -1;
    bool split_at_spaces = false;  // merges never cross a word start, so words go one by one
};
SpmModel make_spm(const Vocab& vocab, int32_t unk_id);
// `text` is raw; spaces become U+2581 and, when add_prefix, one is put in front. With `spans`,
// each id's bytes of `text` are appended there too (all the encode functions do this).
void spm_encode(const Vocab& vocab, const SpmModel& spm, std::string_view text, bool add_prefix,
                std::vector<int32_t>& out, std::vector<ByteSpan>* spans = nullptr);
std::string spm_decode(const Vocab& vocab, int32_t id);

// --- GPT-2 byte-level BPE (tokenizer/bpe.cpp), llama.cpp's "gpt2" model ----------------------
// The regexes that split text into pieces before merging (tokenizer/pretokenize.cpp): one
// rule set per group of llama.cpp's tokenizer.ggml.pre names that share it.
enum class PreTokenizer {
    default_rules, gpt2, llama3, deepseek_llm, deepseek_coder, deepseek3, falcon, starcoder, qwen2, bloom,
    viking, tekken, chameleon, gpt4o
};
PreTokenizer pre_tokenizer_named(const std::string& name, const std::string& source);  // throws
std::string supported_pre_tokenizers();  // the names pre_tokenizer_named knows, comma-separated
std::vector<std::string_view> pretokenize(PreTokenizer pre, std::string_view text);
std::vector<std::string_view> gpt2_pretokenize(std::string_view text);
std::vector<std::string_view> llama3_pretokenize(std::string_view text);
// Where the piece of a long text that starts at `begin` ends when the text is split or encoded
// a piece at a time: the first offset from begin + piece_bytes on that follows a newline lying
// between two printable ASCII bytes (or the end). Every pre-tokenizer ends a word there (and
// SPM has no piece holding a newline), so the pieces split and encode as the whole text does.
size_t piece_end(std::string_view text, size_t begin, size_t piece_bytes);

struct BpeModel {
    StringMap<int32_t> ranks;                 // "left right" -> merge rank (lower merges first)
    std::array<std::string, 256> byte_chars;  // byte -> its printable stand-in, UTF-8
    std::array<int32_t, 256> byte_ids;        // id of each byte's single-character token
    PreTokenizer pre = PreTokenizer::gpt2;
    bool ignore_merges = false;               // a piece found whole in the vocabulary is kept (Llama 3)
};
uint32_t gpt2_byte_char(uint8_t b);  // the printable character that stands for byte b
BpeModel make_bpe(const Vocab& vocab, const std::vector<std::string>& merges,
                  const std::string& source);
void bpe_encode(const Vocab& vocab, const BpeModel& bpe, std::string_view text,
                std::vector<int32_t>& out, std::vector<ByteSpan>* spans = nullptr);
std::string bpe_decode(const Vocab& vocab, int32_t id);

// --- BERT WordPiece (tokenizer/wordpiece.cpp), llama.cpp's "bert" model ------------------------
// BertNormalizer (clean, CJK split, strip accents, lowercase) + BertPreTokenizer words,
// with the bytes of `text` each byte of a word came from.
struct BertWord {
    std::string text;
    std::vector<ByteSpan> source;  // per byte of text
};
std::vector<BertWord> bert_words(std::string_view text, bool lowercase);
std::vector<std::string> bert_pretokenize(std::string_view text, bool lowercase);  // the texts
constexpr size_t kWordPieceMaxChars = 100;  // longer words are [UNK] (max_input_chars_per_word)
void wordpiece_encode(const Vocab& vocab, int32_t unk_id, std::string_view text,
                      std::vector<int32_t>& out, std::vector<ByteSpan>* spans = nullptr);
// "##x" continues the previous word; other words get a space before them unless first.
std::string wordpiece_decode(const Vocab& vocab, int32_t id, bool first);

}  // namespace lm
