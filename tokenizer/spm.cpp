// SentencePiece BPE the way llama.cpp's llm_tokenizer_spm does it: start from UTF-8
// characters, merge the adjacent pair whose concatenation is the best-scoring vocabulary
// entry, and spell what is left out of the vocabulary as <0xNN> byte tokens.
#include <algorithm>
#include <cstdio>

#include "tokenizer/models.h"
#include "tokenizer/unicode.h"

namespace lm {

namespace {
const std::string_view kSpace = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK, SPM's space
}

SpmModel make_spm(const Vocab& vocab, int32_t unk_id) {
    SpmModel spm;
    spm.unk_id = unk_id;
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        spm.byte_ids[b] = vocab.find(name);
    }
    // If no token has a U+2581 right after something else, no merge can cross the start of a
    // word, and words can be merged one at a time: same result, far smaller queues.
    spm.split_at_spaces = true;
    for (const std::string& token : vocab.tokens) {
        for (size_t p = token.find(kSpace, 1); p != std::string::npos; p = token.find(kSpace, p + 1)) {
            if (p < kSpace.size() || token.compare(p - kSpace.size(), kSpace.size(), kSpace) != 0)
                spm.split_at_spaces = false;
        }
    }
    return spm;
}

namespace {

// Where each byte of the escaped text came from in the raw text (and one entry for the end).
using SourceMap = std::vector<uint32_t>;

// Merges one run of symbols (positions in `text`) and appends their ids.
void encode_symbols(const Vocab& vocab, const SpmModel& spm, std::string_view text,
                    std::vector<MergeSymbol>& symbols, std::string& pair, std::vector<int32_t>& out,
                    const SourceMap& source, std::vector<ByteSpan>* spans) {
    merge_pairs(text, symbols, [&](std::string_view a, std::string_view b) -> std::optional<double> {
        pair.assign(a);
        pair += b;
        int32_t id = vocab.find(pair);
        if (id < 0) return std::nullopt;
        return vocab.scores[id];
    });
    for (int32_t i = 0; i >= 0; i = symbols[i].next) {
        const uint32_t start = symbols[i].start, len = symbols[i].len;
        int32_t id = vocab.find(text.substr(start, len));
        if (id >= 0) {
            out.push_back(id);
            if (spans) spans->push_back({source[start], source[start + len]});
            continue;
        }
        for (uint32_t k = start; k < start + len; ++k) {  // byte fallback
            int32_t b = spm.byte_ids[static_cast<uint8_t>(text[k])];
            if (b < 0) b = spm.unk_id;
            if (b < 0) continue;
            out.push_back(b);
            if (spans) spans->push_back({source[k], std::max(source[k + 1], source[k])});
        }
    }
}

}  // namespace

void spm_encode(const Vocab& vocab, const SpmModel& spm, std::string_view raw, bool add_prefix,
                std::vector<int32_t>& out, std::vector<ByteSpan>* spans) {
    std::string text;
    SourceMap source;  // the prefix maps to raw byte 0, an escaped space's 3 bytes to its byte
    text.reserve(raw.size() + 8);
    auto add = [&](std::string_view bytes, uint32_t from) {
        text += bytes;
        if (spans) source.insert(source.end(), bytes.size(), from);
    };
    if (add_prefix) add(kSpace, 0);
    for (size_t i = 0; i < raw.size(); ++i) add(raw[i] == ' ' ? kSpace : raw.substr(i, 1), static_cast<uint32_t>(i));
    if (spans) source.push_back(static_cast<uint32_t>(raw.size()));
    // Symbols are UTF-8 characters judged by their first byte alone, as llama.cpp splits.
    std::vector<MergeSymbol> chars;
    for (size_t pos = 0; pos < text.size();) {
        size_t len = std::min(utf8_len_from_first_byte(static_cast<uint8_t>(text[pos])),
                              text.size() - pos);
        chars.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(len), 0, 0});
        pos += len;
    }
    auto is_space = [&](size_t k) { return text.compare(chars[k].start, chars[k].len, kSpace) == 0; };
    std::vector<MergeSymbol> symbols;
    std::string pair;
    for (size_t first = 0, k = 1; k <= chars.size(); ++k) {
        bool word_start = k < chars.size() && spm.split_at_spaces && is_space(k) && !is_space(k - 1);
        if (k < chars.size() && !word_start) continue;
        symbols.assign(chars.begin() + first, chars.begin() + k);
        for (size_t i = 0; i < symbols.size(); ++i) {
            symbols[i].prev = static_cast<int32_t>(i) - 1;
            symbols[i].next = i + 1 < symbols.size() ? static_cast<int32_t>(i) + 1 : -1;
        }
        encode_symbols(vocab, spm, text, symbols, pair, out, source, spans);
        first = k;
    }
}

std::string spm_decode(const Vocab& vocab, int32_t id) {
    const std::string& text = vocab.tokens[id];
    switch (vocab.types[id]) {
        case TokenType::user_defined:
            return text;  // added by the model's authors, written as they want it printed
        case TokenType::normal: {
            std::string out;
            for (size_t pos = 0; pos < text.size();) {
                if (text.compare(pos, kSpace.size(), kSpace) == 0) {
                    out += ' ';
                    pos += kSpace.size();
                } else {
                    out += text[pos++];
                }
            }
            return out;
        }
        case TokenType::byte: {
            auto hex = [](char c) {  // a hex digit's value, or -1
                if (c >= '0' && c <= '9') return c - '0';
                return (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : -1;
            };
            if (text.size() == 6 && text.starts_with("<0x") && text[5] == '>' && hex(text[3]) >= 0 && hex(text[4]) >= 0)
                return std::string(1, static_cast<char>(hex(text[3]) * 16 + hex(text[4])));
            return text;
        }
        default:
            return "";  // control, unknown, unused, undefined: llama.cpp prints nothing
    }
}

}  // namespace lm
