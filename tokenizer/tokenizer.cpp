#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "tokenizer/unicode.h"
#include "weights/error.h"
#include "weights/limits.h"

namespace lm {

namespace {

Vocab read_vocab(const Metadata& meta) {
    const std::vector<std::string>* tokens = meta.get_strings("tokenizer.ggml.tokens");
    if (!tokens || tokens->empty())
        fail(meta.source, ": missing or empty tokenizer.ggml.tokens");
    if (tokens->size() > static_cast<size_t>(limits::kMaxVocab))
        fail(meta.source, ": tokenizer.ggml.tokens has ", tokens->size(), " entries, more than the limit of ",
             limits::kMaxVocab);
    const size_t n = tokens->size();
    const std::vector<double>* scores = meta.get_floats("tokenizer.ggml.scores");
    const std::vector<int64_t>* types = meta.get_ints("tokenizer.ggml.token_type");
    if (scores && scores->size() != n)
        fail(meta.source, ": tokenizer.ggml.scores has ", scores->size(), " entries for ", n, " tokens");
    if (types && types->size() != n)
        fail(meta.source, ": tokenizer.ggml.token_type has ", types->size(), " entries for ", n, " tokens");
    Vocab v;
    v.tokens = *tokens;
    v.scores.resize(n, 0.0f);
    v.types.resize(n, TokenType::normal);
    v.ids.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        if (scores) v.scores[i] = static_cast<float>((*scores)[i]);
        if (types) {
            int64_t t = (*types)[i];
            v.types[i] = (t >= 1 && t <= 6) ? static_cast<TokenType>(t) : TokenType::undefined;
        }
        if (!v.tokens[i].empty()) v.ids[v.tokens[i]] = static_cast<int32_t>(i);
        v.max_len = std::max(v.max_len, v.tokens[i].size());
    }
    return v;
}

// Texts llama.cpp also treats as end of generation when the metadata names no EOT token.
bool looks_like_eot(const std::string& text) {
    static const char* names[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                                  "<|endoftext|>", "<|end_of_text|>", "<EOT>", "<|eom_id|>"};
    for (const char* name : names)
        if (text == name) return true;
    return false;
}

}  // namespace

Tokenizer::Tokenizer(const Metadata& meta) : source_(meta.source) {
    model_ = meta.get_string("tokenizer.ggml.model");
    // Defaults are llama.cpp's (llama_vocab::impl::load) for each tokenizer model.
    if (model_ == "llama") {
        kind_ = Kind::spm;
        bos_ = 1, eos_ = 2, unk_ = 0;
        add_bos_ = true, add_space_prefix_ = true;
    } else if (model_ == "gpt2") {
        kind_ = Kind::bpe;
        bos_ = 11, eos_ = 11;
        // llama.cpp adds BOS by default for these pre-tokenizers' vocabularies (Llama 3, Tekken).
        const std::string pre = meta.get_string("tokenizer.ggml.pre", "");
        for (const char* name : {"llama3", "llama-v3", "llama-bpe", "falcon3", "tekken", "chameleon"})
            if (pre == name) add_bos_ = true;
    } else if (model_ == "bert") {
        kind_ = Kind::wordpiece;
        bos_ = 101, unk_ = 100, sep_ = 102, pad_ = 0, mask_ = 103;  // bos is [CLS]
        add_bos_ = true, add_eos_ = true;
    } else {
        fail(meta.source, ": unsupported tokenizer model '", model_, "'");
    }
    vocab_ = read_vocab(meta);
    read_special_ids(meta);
    if (kind_ == Kind::spm) spm_ = make_spm(vocab_, unk_);
    if (kind_ == Kind::bpe) {
        const std::vector<std::string>* merges = meta.get_strings("tokenizer.ggml.merges");
        if (!merges) fail(meta.source, ": missing tokenizer.ggml.merges for a gpt2 tokenizer");
        bpe_ = make_bpe(vocab_, *merges, meta.source);
        const std::string pre = meta.get_string("tokenizer.ggml.pre", "");
        bpe_.pre = pre_tokenizer_named(pre, meta.source);
        // llama.cpp keeps a piece found whole in the vocabulary for these names only.
        for (const char* name : {"llama3", "llama-v3", "llama-bpe", "falcon3", "tekken"})
            if (pre == name) bpe_.ignore_merges = true;
    }
    find_special_tokens();
}

void Tokenizer::read_special_ids(const Metadata& meta) {
    const int32_t n = vocab_.size();
    auto read_id = [&](const char* key, int32_t fallback) {
        int64_t id = meta.get_int(key, fallback);
        if (id < 0 || id >= n) id = fallback;  // llama.cpp keeps the default for a bad id
        return (id >= 0 && id < n) ? static_cast<int32_t>(id) : -1;
    };
    bos_ = read_id("tokenizer.ggml.bos_token_id", bos_);
    eos_ = read_id("tokenizer.ggml.eos_token_id", eos_);
    unk_ = read_id("tokenizer.ggml.unknown_token_id", unk_);
    sep_ = read_id("tokenizer.ggml.seperator_token_id", sep_);  // sic, llama.cpp's key
    pad_ = read_id("tokenizer.ggml.padding_token_id", pad_);
    mask_ = read_id("tokenizer.ggml.mask_token_id", mask_);
    add_bos_ = meta.get_bool("tokenizer.ggml.add_bos_token", add_bos_);
    add_eos_ = meta.get_bool("tokenizer.ggml.add_eos_token", add_eos_);
    add_space_prefix_ = meta.get_bool("tokenizer.ggml.add_space_prefix", add_space_prefix_);
    if (kind_ == Kind::wordpiece) {
        // BERT wraps a sequence as [CLS] ... [SEP]: those are its begin and end tokens.
        bos_ = read_id("tokenizer.ggml.cls_token_id", bos_);
        eos_ = sep_;
        add_eos_ = meta.get_bool("tokenizer.ggml.add_sep_token", true);
    } else if (eos_ >= 0) {
        eog_ids_.push_back(eos_);
    }
    for (const char* key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
        int32_t id = read_id(key, -1);
        if (id >= 0) eog_ids_.push_back(id);
    }
}

// Control and user-defined tokens, longest text first, for split_special; and the
// end-of-generation tokens known by their text.
void Tokenizer::find_special_tokens() {
    for (int32_t id = 0; id < vocab_.size(); ++id) {
        TokenType t = vocab_.types[id];
        if ((t == TokenType::control || t == TokenType::user_defined) && !vocab_.tokens[id].empty())
            specials_.push_back(id);
        if (t == TokenType::control && looks_like_eot(vocab_.tokens[id])) eog_ids_.push_back(id);
    }
    std::stable_sort(specials_.begin(), specials_.end(), [&](int32_t a, int32_t b) {
        return vocab_.tokens[a].size() > vocab_.tokens[b].size();
    });
}

bool Tokenizer::is_eog(int32_t id) const {
    return std::find(eog_ids_.begin(), eog_ids_.end(), id) != eog_ids_.end();
}

void Tokenizer::check_id(int32_t id) const {
    if (id < 0 || id >= vocab_.size())
        fail(source_, ": token id ", id, " is outside the vocabulary of ", vocab_.size());
}

const std::string& Tokenizer::token_text(int32_t id) const {
    check_id(id);
    return vocab_.tokens[id];
}

TokenType Tokenizer::token_type(int32_t id) const {
    check_id(id);
    return vocab_.types[id];
}

// Cuts special-token texts out of `text`, longest token first, as llama.cpp's
// tokenizer_st_partition does; control tokens only when asked to parse them.
std::vector<Tokenizer::Fragment> Tokenizer::split_special(std::string_view text,
                                                          bool parse_special) const {
    std::vector<Fragment> fragments;
    if (text.empty()) return fragments;
    fragments.push_back({text, -1});
    std::vector<Fragment> next;
    for (int32_t id : specials_) {
        if (vocab_.types[id] == TokenType::control && !parse_special) continue;
        const std::string& special = vocab_.tokens[id];
        next.clear();
        for (const Fragment& f : fragments) {
            if (f.token >= 0) {
                next.push_back(f);
                continue;
            }
            size_t pos = 0;
            for (size_t hit; (hit = f.text.find(special, pos)) != std::string_view::npos;) {
                if (hit > pos) next.push_back({f.text.substr(pos, hit - pos), -1});
                next.push_back({f.text.substr(hit, special.size()), id});
                pos = hit + special.size();
            }
            if (pos < f.text.size()) next.push_back({f.text.substr(pos), -1});
        }
        fragments.swap(next);
    }
    return fragments;
}

void Tokenizer::encode_fragment(std::string_view text, bool after_special, std::vector<int32_t>& out,
                                std::vector<ByteSpan>* spans) const {
    switch (kind_) {
        case Kind::spm:
            spm_encode(vocab_, spm_, text, add_space_prefix_ && after_special, out, spans);
            break;
        case Kind::bpe:
            bpe_encode(vocab_, bpe_, text, out, spans);
            break;
        case Kind::wordpiece:
            wordpiece_encode(vocab_, unk_, text, out, spans);
            break;
    }
}

void Tokenizer::encode_text(std::string_view text, bool parse_special, bool after_special,
                            std::vector<int32_t>& out) const {
    for (const Fragment& f : split_special(text, parse_special)) {
        if (f.token >= 0) {
            out.push_back(f.token);
            after_special = true;
        } else {
            encode_fragment(f.text, after_special, out, nullptr);
            after_special = false;
        }
    }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
    std::vector<int32_t> out;
    if (add_special && add_bos_ && bos_ >= 0) out.push_back(bos_);
    encode_text(text, parse_special, true, out);  // SPM puts its space prefix at the start
    if (add_special && add_eos_ && eos_ >= 0) out.push_back(eos_);
    return out;
}

void encode_documents(const Tokenizer& tok, std::string_view text, std::string_view separator, size_t piece_bytes,
                      const std::function<void(const std::vector<int32_t>& ids, size_t end)>& sink) {
    if (separator.empty()) return tok.encode_pieces(text, piece_bytes, sink);
    if (tok.eos() < 0) fail("--separator: the vocabulary has no end-of-text (EOS) token to end documents with");
    const std::vector<int32_t> eos{tok.eos()};
    for (size_t start = 0; start < text.size();) {
        const size_t end = std::min(text.find(separator, start), text.size());
        if (end > start) {
            tok.encode_pieces(text.substr(start, end - start), piece_bytes,
                              [&](const std::vector<int32_t>& ids, size_t piece_end) { sink(ids, start + piece_end); });
            sink(eos, end);
        }
        start = end + separator.size();
    }
}

std::vector<int32_t> encode_documents(const Tokenizer& tok, std::string_view text, std::string_view separator) {
    if (separator.empty()) return tok.encode(text, false);
    std::vector<int32_t> out;
    encode_documents(tok, text, separator, text.size(),
                     [&](const std::vector<int32_t>& ids, size_t) { out.insert(out.end(), ids.begin(), ids.end()); });
    return out;
}

void Tokenizer::encode_pieces(std::string_view text, size_t piece_bytes,
                              const std::function<void(const std::vector<int32_t>&, size_t)>& sink) const {
    std::vector<int32_t> ids;
    for (size_t begin = 0; begin < text.size();) {
        const size_t end = piece_end(text, begin, piece_bytes);
        ids.clear();
        encode_text(text.substr(begin, end - begin), false, begin == 0, ids);
        sink(ids, end);
        begin = end;
    }
}

std::vector<int32_t> Tokenizer::encode_with_spans(std::string_view text, std::vector<ByteSpan>& spans,
                                                  bool parse_special) const {
    std::vector<int32_t> out;
    spans.clear();
    bool after_special = true;
    for (const Fragment& f : split_special(text, parse_special)) {
        const auto offset = static_cast<uint32_t>(f.text.data() - text.data());
        if (f.token >= 0) {
            out.push_back(f.token);
            spans.push_back({offset, offset + static_cast<uint32_t>(f.text.size())});
            after_special = true;
            continue;
        }
        const size_t first = spans.size();
        encode_fragment(f.text, after_special, out, &spans);
        for (size_t i = first; i < spans.size(); ++i) spans[i].begin += offset, spans[i].end += offset;
        after_special = false;
    }
    return out;
}

std::string Tokenizer::decode_token(int32_t prev, int32_t id) const {
    check_id(id);
    switch (kind_) {
        case Kind::spm: {
            std::string piece = spm_decode(vocab_, id);
            if (prev >= 0 && prev == bos_ && add_space_prefix_ && !piece.empty() && piece[0] == ' ')
                piece.erase(0, 1);
            return piece;
        }
        case Kind::bpe:
            return bpe_decode(vocab_, id);
        case Kind::wordpiece: {
            bool first = prev < 0 || prev >= vocab_.size() || vocab_.types[prev] == TokenType::control;
            return wordpiece_decode(vocab_, id, first);
        }
    }
    return "";
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
    std::string out;
    int32_t prev = -1;
    bool at_start = true;  // the SPM space prefix is still to be removed
    for (int32_t id : ids) {
        std::string piece = decode_token(prev, id);
        if (kind_ == Kind::spm && add_space_prefix_ && at_start && !piece.empty()) {
            if (piece[0] == ' ' && !(prev >= 0 && prev == bos_)) piece.erase(0, 1);
            at_start = false;
        }
        out += piece;
        prev = id;
    }
    return out;
}

std::string Utf8Stream::push(std::string_view bytes) {
    pending_ += bytes;
    size_t keep_from = pending_.size();
    // Look back at most 3 bytes for the lead byte of a character still missing bytes.
    for (size_t k = 1; k <= 3 && k <= pending_.size(); ++k) {
        uint8_t b = static_cast<uint8_t>(pending_[pending_.size() - k]);
        if ((b & 0xC0) == 0x80) continue;  // continuation byte
        if (b >= 0xC0 && b < 0xF8 && utf8_len_from_first_byte(b) > k) keep_from = pending_.size() - k;
        break;
    }
    std::string ready = pending_.substr(0, keep_from);
    pending_.erase(0, keep_from);
    return ready;
}

std::string Utf8Stream::flush() {
    std::string rest;
    rest.swap(pending_);
    return rest;
}

}  // namespace lm
