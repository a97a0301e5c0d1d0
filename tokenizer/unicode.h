// The Unicode facts the tokenizers need: UTF-8 decoding that never loses a byte, character
// classes (general category, coarsened), lowercase, and accent stripping (NFD minus Mn).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lm {

// General category coarsened to what the tokenizers ask: L* letters, Mn nonspacing marks,
// other M* marks, N* numbers, P* punctuation, S* symbols, Z* separators, C* everything else.
enum class CharClass : uint8_t { L, Mn, M, N, P, S, Z, C };

struct ClassRange { uint32_t first, last; CharClass cls; };
struct CodepointPair { uint32_t from, to; };
struct StrippedDecomposition { uint32_t cp; uint32_t kept[3]; };

namespace unicode_data {  // tokenizer/unicode_data.cpp (generated)
extern const ClassRange class_ranges[];
extern const size_t n_class_ranges;
extern const CodepointPair lowercase[];
extern const size_t n_lowercase;
extern const StrippedDecomposition stripped[];
extern const size_t n_stripped;
}  // namespace unicode_data

// A byte that does not start a valid UTF-8 sequence decodes to invalid_codepoint + byte, so
// the original bytes stay recoverable; such code points are class C.
constexpr uint32_t invalid_codepoint = 0x110000;

struct Decoded {
    uint32_t cp;
    uint32_t len;  // bytes consumed, >= 1
};
// Strict decoding (no overlongs, surrogates or values above U+10FFFF) of the character at
// s[pos]; pos < s.size().
Decoded decode_utf8(std::string_view s, size_t pos);
// Byte length of a UTF-8 character from its first byte alone, as SentencePiece splits text.
inline size_t utf8_len_from_first_byte(uint8_t b) {
    static const uint8_t len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len[b >> 4];
}
void append_utf8(std::string& out, uint32_t cp);

CharClass char_class(uint32_t cp);
bool is_white_space(uint32_t cp);  // the White_Space property (regex \s)
bool is_cjk_ideograph(uint32_t cp);  // the CJK blocks BERT splits out as words
uint32_t to_lower(uint32_t cp);      // simple lowercase mapping
// Appends NFD(cp) without its Mn marks (nothing when cp is itself Mn).
void append_stripped(std::string& out, uint32_t cp);

}  // namespace lm
