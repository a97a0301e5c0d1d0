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
    return spm;
}

void spm_encode(const Vocab& vocab, const SpmModel& spm, std::string_view raw, bool add_prefix,
                std::vector<int32_t>& out) {
    std::string text;
    text.reserve(raw.size() + 8);
    if (add_prefix) text += kSpace;
    for (char c : raw) {
        if (c == ' ') text += kSpace;
        else text += c;
    }
    // Symbols are UTF-8 characters judged by their first byte alone, as llama.cpp splits.
    std::vector<MergeSymbol> symbols;
    for (size_t pos = 0; pos < text.size();) {
        size_t len = std::min(utf8_len_from_first_byte(static_cast<uint8_t>(text[pos])),
                              text.size() - pos);
        int32_t i = static_cast<int32_t>(symbols.size());
        symbols.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(len), i - 1, i + 1});
        pos += len;
    }
    if (symbols.empty()) return;
    symbols.back().next = -1;

    std::string pair;
    merge_pairs(text, symbols, [&](std::string_view a, std::string_view b) -> std::optional<double> {
        pair.assign(a);
        pair += b;
        int32_t id = vocab.find(pair);
        if (id < 0) return std::nullopt;
        return vocab.scores[id];
    });

    for (int32_t i = 0; i >= 0; i = symbols[i].next) {
        std::string_view piece = std::string_view(text).substr(symbols[i].start, symbols[i].len);
        int32_t id = vocab.find(piece);
        if (id >= 0) {
            out.push_back(id);
            continue;
        }
        for (char c : piece) {  // byte fallback
            int32_t b = spm.byte_ids[static_cast<uint8_t>(c)];
            if (b >= 0) out.push_back(b);
            else if (spm.unk_id >= 0) out.push_back(spm.unk_id);
        }
    }
}

std::string spm_decode(const Vocab& vocab, int32_t id) {
    const std::string& text = vocab.tokens[id];
    switch (vocab.types[id]) {
        case TokenType::normal:
        case TokenType::user_defined: {
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
            unsigned value = 0;
            if (text.size() == 6 && std::sscanf(text.c_str(), "<0x%02X>", &value) == 1)
                return std::string(1, static_cast<char>(value));
            return text;
        }
        case TokenType::unknown:
            return "\xE2\x96\x85";  // U+2585, what llama.cpp prints for <unk>
        default:
            return "";  // control, unused, undefined
    }
}

}  // namespace lm
