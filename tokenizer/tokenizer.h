// Text <-> token ids, token for token what llama.cpp (and the Hugging Face tokenizers it is
// tested against) produce. One facade over three algorithms chosen by tokenizer.ggml.model:
// "llama" (SentencePiece BPE), "gpt2" (byte-level BPE, split as tokenizer.ggml.pre says: GPT-2's
// or Llama 3's regex), "bert" (WordPiece). Vocabularies come from GGUF metadata or from the
// readers below (llama2.c tokenizer.bin, SentencePiece tokenizer.model, Hugging Face files);
// tokenizer/bpe_train.h learns new ones.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/models.h"
#include "tokenizer/vocab.h"
#include "weights/metadata.h"
#include "weights/mmap.h"

namespace lm {

// Immutable once built: encode and decode are const and safe to call from several threads.
class Tokenizer {
public:
    // Reads the tokenizer.ggml.* keys; throws lm::Error naming meta.source on bad/missing data.
    explicit Tokenizer(const Metadata& meta);

    // Hugging Face vocabulary files: `path` is a directory holding vocab.txt (BERT WordPiece),
    // or vocab.json/encoder.json plus merges.txt/vocab.bpe (GPT-2 byte-level BPE), or
    // tokenizer.model (SentencePiece BPE, Llama), or tokenizer.json (a byte-level BPE or
    // WordPiece model), searched in that order; or the path of one of those files, a BPE
    // vocabulary's partner looked up beside it.
    static Tokenizer from_files(const std::string& path);

    // add_special: BOS/EOS (CLS ... SEP for bert) as the metadata and llama.cpp's defaults
    // say. parse_special: also turn control-token texts found in `text` (e.g. "<|endoftext|>")
    // into those tokens; user-defined tokens are always matched, as in llama.cpp.
    std::vector<int32_t> encode(std::string_view text, bool add_special,
                                bool parse_special = false) const;

    // encode(text, false) of a text whose ids need not fit in memory at once (a training
    // corpus): the text is cut into pieces of about piece_bytes where every tokenizer splits
    // anyway (piece_end in tokenizer/models.h; SPM's space prefix goes only before the first
    // piece), and sink(ids, end) gets each piece's ids and the offset in `text` where the
    // piece ends. A text without such a cut is one piece.
    void encode_pieces(std::string_view text, size_t piece_bytes,
                       const std::function<void(const std::vector<int32_t>& ids, size_t end)>& sink) const;

    // encode(text, false, parse_special), and for every token the bytes [begin, end) of `text`
    // it came from (a special token found in the text covers its text). Maps a span of
    // tokens back to the original text, e.g. a BERT answer to the un-normalized context.
    std::vector<int32_t> encode_with_spans(std::string_view text, std::vector<ByteSpan>& spans,
                                           bool parse_special = false) const;

    // The bytes `id` stands for: U+2581 -> space, <0xNN> -> that byte, GPT-2's byte stand-ins
    // -> their bytes, BERT's "▁word" -> " word" (no space first or before . , ! ?); control
    // and unknown tokens -> "". Bytes may be part of a UTF-8 character: see Utf8Stream.
    // After BOS, a model that adds a space prefix drops the leading space (llama2.c, llama.cpp).
    // prev is the token before id, or -1. Throws lm::Error for an id outside the vocabulary.
    std::string decode_token(int32_t prev, int32_t id) const;
    // All tokens; the space an SPM model put in front of the text is removed, so
    // decode(encode(s, false)) == s for text the vocabulary can spell.
    std::string decode(const std::vector<int32_t>& ids) const;

    int32_t bos() const { return bos_; }  // -1 when the model has none; [CLS] for bert
    int32_t eos() const { return eos_; }  // -1 when the model has none; [SEP] for bert
    int32_t unk() const { return unk_; }
    int32_t pad() const { return pad_; }    // -1 when the model has none; [PAD] for bert
    int32_t mask() const { return mask_; }  // -1 when the model has none; [MASK] for bert
    int32_t n_vocab() const { return vocab_.size(); }
    bool is_eog(int32_t id) const;  // end of generation: eos, eot, eom...
    bool add_bos() const { return add_bos_; }
    bool add_eos() const { return add_eos_; }
    const std::string& model() const { return model_; }  // "llama", "gpt2", "bert"
    const std::string& token_text(int32_t id) const;      // the raw vocabulary entry
    int32_t find(std::string_view token_text) const { return vocab_.find(token_text); }  // -1 if absent
    TokenType token_type(int32_t id) const;

private:
    struct Fragment {
        std::string_view text;  // where in the input it lies
        int32_t token;
    };
    void read_special_ids(const Metadata& meta);
    void find_special_tokens();
    std::vector<Fragment> split_special(std::string_view text, bool parse_special) const;
    // The ids of text's fragments appended to out; after_special: SPM's space prefix is due.
    void encode_text(std::string_view text, bool parse_special, bool after_special, std::vector<int32_t>& out) const;
    void encode_fragment(std::string_view text, bool after_special, std::vector<int32_t>& out,
                         std::vector<ByteSpan>* spans) const;
    void check_id(int32_t id) const;

    enum class Kind { spm, bpe, wordpiece };
    Kind kind_ = Kind::spm;
    std::string model_;
    std::string source_;
    Vocab vocab_;
    SpmModel spm_{};
    BpeModel bpe_;
    int32_t bos_ = -1, eos_ = -1, unk_ = -1, sep_ = -1, pad_ = -1, mask_ = -1;
    std::vector<int32_t> eog_ids_;
    bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false;
    std::vector<int32_t> specials_;  // user-defined and control tokens, longest text first
};

// The documents of `text` between separators (e.g. "\n\n", a blank line), each followed by
// EOS in the separator's place, so that a model trained on them learns where a document ends
// (GPT-2's <|endoftext|> between texts). Empty documents are skipped; an empty separator
// encodes the text whole. No BOS. Throws lm::Error when the vocabulary has no EOS.
std::vector<int32_t> encode_documents(const Tokenizer& tok, std::string_view text, std::string_view separator);
// The same a piece at a time, as Tokenizer::encode_pieces: sink(ids, end) gets the ids of each
// piece of a document, and of each document's EOS, and the offset in `text` encoded so far.
void encode_documents(const Tokenizer& tok, std::string_view text, std::string_view separator, size_t piece_bytes,
                      const std::function<void(const std::vector<int32_t>& ids, size_t end)>& sink);

// Holds back an incomplete multi-byte UTF-8 character split across tokens; push() returns
// the complete bytes so far, flush() whatever is left (invalid bytes pass through unchanged).
class Utf8Stream {
public:
    std::string push(std::string_view bytes);
    std::string flush();

private:
    std::string pending_;
};

// Fills the tokenizer.ggml.* keys (model "llama", tokens, scores, token_type, bos/eos ids,
// add_bos...) from a llama2.c tokenizer.bin: int32 max_token_len, then n_vocab x {f32 score,
// int32 len, bytes}. n_vocab comes from the model header. Its spaces are stored as ' ' and
// BOS/EOS as "\n<s>\n"/"\n</s>\n"; they are normalized to SentencePiece's spelling.
void read_llama2c_tokenizer(const std::string& path, int32_t n_vocab, Metadata& meta);
// The same from bytes already in memory (a mapping, or a buffer for tests and fuzzers).
void read_llama2c_tokenizer(const MappedFile& file, int32_t n_vocab, Metadata& meta);

// Fills the tokenizer.ggml.* keys of a "llama" tokenizer from SentencePiece's tokenizer.model
// (pieces, scores, types, unk/bos/eos/pad ids, add_dummy_prefix), as llama.cpp's converter
// does. Only BPE models; a Unigram model is an lm::Error.
void read_sentencepiece_model(const std::string& path, Metadata& meta);
void read_sentencepiece_model(const MappedFile& file, Metadata& meta);  // from memory

// Fills the tokenizer.ggml.* keys from Hugging Face vocabulary files (see
// Tokenizer::from_files): model "gpt2" (tokens, token_type, merges, bos/eos) or "bert"
// (tokens, token_type, unknown/seperator/padding/cls/mask ids) or "llama" (tokenizer.model).
void read_hf_tokenizer(const std::string& path, Metadata& meta);

}  // namespace lm
