#include "tokenizer/unicode.h"

#include <algorithm>

#include "weights/utf8.h"

namespace lm {

Decoded decode_utf8(std::string_view s, size_t pos) {
    const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
    uint8_t b0 = byte(pos);
    if (b0 < 0x80) return {b0, 1};
    size_t len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 0;
    Decoded bad{invalid_codepoint + b0, 1};
    if (len == 0 || pos + len > s.size()) return bad;
    uint32_t cp = b0 & (0x7F >> len);
    for (size_t i = 1; i < len; ++i) {
        uint8_t b = byte(pos + i);
        if ((b & 0xC0) != 0x80) return bad;
        cp = (cp << 6) | (b & 0x3F);
    }
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return bad;
    return {cp, static_cast<uint32_t>(len)};
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp >= invalid_codepoint) out += static_cast<char>(cp - invalid_codepoint);  // a raw byte kept from invalid input
    else encode_utf8(out, cp);
}

CharClass char_class(uint32_t cp) {
    using unicode_data::class_ranges;
    const ClassRange* end = class_ranges + unicode_data::n_class_ranges;
    const ClassRange* it = std::upper_bound(class_ranges, end, cp,
        [](uint32_t c, const ClassRange& r) { return c < r.first; });
    if (it == class_ranges) return CharClass::C;
    --it;
    return cp <= it->last ? it->cls : CharClass::C;
}

bool is_white_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool is_cjk_ideograph(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

uint32_t to_lower(uint32_t cp) {
    if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    using unicode_data::lowercase;
    const CodepointPair* end = lowercase + unicode_data::n_lowercase;
    const CodepointPair* it = std::lower_bound(lowercase, end, cp,
        [](const CodepointPair& p, uint32_t c) { return p.from < c; });
    return (it != end && it->from == cp) ? it->to : cp;
}

void append_stripped(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
        return;
    }
    if (cp >= 0xAC00 && cp <= 0xD7A3) {  // Hangul syllable: L V (T) jamo (Unicode 3.12)
        uint32_t s = cp - 0xAC00;
        append_utf8(out, 0x1100 + s / 588);
        append_utf8(out, 0x1161 + (s % 588) / 28);
        if (s % 28) append_utf8(out, 0x11A7 + s % 28);
        return;
    }
    using unicode_data::stripped;
    const StrippedDecomposition* end = stripped + unicode_data::n_stripped;
    const StrippedDecomposition* it = std::lower_bound(stripped, end, cp,
        [](const StrippedDecomposition& d, uint32_t c) { return d.cp < c; });
    if (it != end && it->cp == cp) {
        for (uint32_t k : it->kept)
            if (k) append_utf8(out, k);
        return;
    }
    if (char_class(cp) != CharClass::Mn) append_utf8(out, cp);
}

}  // namespace lm
