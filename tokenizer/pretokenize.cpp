// The pre-tokenizers of byte-level BPE: the regular expressions llama.cpp splits text with
// before merging (one rule set per tokenizer.ggml.pre name), written out by hand over code
// points. A rule set is a list of rules applied in turn: each rule cuts every piece the rules
// before it left into its matches and the runs of characters between them, as a regex
// iterator does. Pieces are byte ranges of the input.
#include <algorithm>
#include <array>
#include <cstdint>

#include "tokenizer/models.h"
#include "tokenizer/unicode.h"
#include "weights/error.h"

namespace lm {

namespace {

// What the regexes ask of a character, as llama.cpp's regex engine sees it: ASCII characters
// by their own classes, other code points by their general category; whitespace comes first.
enum : uint8_t { kLetter = 1, kNumber = 2, kPunct = 4, kSymbol = 8, kMark = 16, kSpace = 32 };

constexpr std::array<uint8_t, 128> ascii_flags() {
    std::array<uint8_t, 128> f{};
    for (int c = 'A'; c <= 'Z'; ++c) f[c] = f[c + 32] = kLetter;
    for (int c = '0'; c <= '9'; ++c) f[c] = kNumber;
    for (char c : std::string_view("!\"#%&'()*,-./:;?@[\\]_{}")) f[static_cast<uint8_t>(c)] = kPunct;
    // '~' is missing on purpose: llama.cpp's ASCII stand-in for \p{S} leaves it out.
    for (char c : std::string_view("$+<=>^`|")) f[static_cast<uint8_t>(c)] = kSymbol;
    for (int c : {'\t', '\n', '\v', '\f', '\r', ' '}) f[c] = kSpace;
    return f;
}

uint8_t flags_of(uint32_t cp) {
    static constexpr std::array<uint8_t, 128> ascii = ascii_flags();
    if (cp < 0x80) return ascii[cp];
    if (is_white_space(cp)) return kSpace;
    if (cp >= invalid_codepoint) return kSymbol;  // llama.cpp reads a bad byte as U+FFFD, a symbol
    switch (char_class(cp)) {
        case CharClass::L: return kLetter;
        case CharClass::N: return kNumber;
        case CharClass::P: return kPunct;
        case CharClass::S: return kSymbol;
        case CharClass::Mn:
        case CharClass::M: return kMark;
        default: return 0;
    }
}

constexpr uint8_t kWordy = kLetter | kNumber | kSpace;  // [^\s\p{L}\p{N}] is what has none

// The characters of one piece: a rule sees nothing outside it (at() is 0 and is() false there).
struct Span {
    const uint32_t* cps;
    const uint8_t* flags;
    size_t n;

    uint32_t at(size_t i) const { return i < n ? cps[i] : 0; }
    bool is(size_t i, uint8_t f) const { return i < n && (flags[i] & f); }
    bool other(size_t i) const { return i < n && !(flags[i] & kWordy); }
    bool newline(size_t i) const { return at(i) == '\r' || at(i) == '\n'; }
    template <class Pred>
    size_t run(size_t i, Pred pred, size_t max = SIZE_MAX) const {  // end of the run from i
        const size_t from = i;
        while (i < n && i - from < max && pred(i)) ++i;
        return i;
    }
    size_t run_of(size_t i, uint8_t f, size_t max = SIZE_MAX) const {
        return run(i, [&](size_t k) { return is(k, f); }, max);
    }
    size_t run_other(size_t i) const { return run(i, [&](size_t k) { return other(k); }); }
};

// A rule returns where its match starting at i ends, or i when nothing matches there.
using Rule = size_t (*)(const Span&, size_t);

// 's 't 're 've 'm 'll 'd at i, in any case when any_case (Llama 3's (?i:...)).
size_t contraction(const Span& s, size_t i, bool any_case) {
    auto at = [&](size_t k) {
        uint32_t c = s.at(i + k);
        return (any_case && c >= 'A' && c <= 'Z') ? c + 32 : c;
    };
    if (at(0) != '\'') return i;
    uint32_t a = at(1), b = at(2);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    return i;
}

// \s*[\r\n]+|\s+(?!\S)|\s+ at a whitespace character i: through the last newline of the run,
// else all of it but the one space before a word.
size_t spaces(const Span& s, size_t i) {
    const size_t run_end = s.run_of(i, kSpace);
    size_t end = i;
    for (size_t k = i; k < run_end; ++k)
        if (s.newline(k)) end = k + 1;
    if (end > i) return end;
    return (run_end < s.n && run_end - i > 1) ? run_end - 1 : run_end;
}

// GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
// A character nothing matches is a piece by itself, as in llama.cpp's hand-written version.
size_t gpt2_rule(const Span& s, size_t i) {
    if (size_t end = contraction(s, i, false); end > i) return end;
    const size_t j = (s.at(i) == ' ' && i + 1 < s.n && !s.is(i + 1, kSpace)) ? i + 1 : i;
    size_t end;
    if (s.is(j, kLetter)) end = s.run_of(j, kLetter);
    else if (s.is(j, kNumber)) end = s.run_of(j, kNumber);
    else if (s.is(j, kSpace)) end = s.run_of(j, kSpace);
    else end = s.run_other(j);
    // \s+(?!\S) leaves the last space of a run to prefix the word that follows.
    if (s.is(j, kSpace) && end < s.n && end - i > 1) --end;
    return end;
}

// ?[^\s\p{L}\p{N}]+ followed by [\r\n]* (or [\r\n/]* when slash), or i.
size_t symbols(const Span& s, size_t i, bool slash) {
    const size_t j = (s.at(i) == ' ' && s.other(i + 1)) ? i + 1 : i;
    if (!s.other(j)) return i;
    size_t end = s.run_other(j);
    while (s.newline(end) || (slash && s.at(end) == '/')) ++end;
    return end;
}

// Llama 3 with digits in groups of up to max_digits (Qwen2: 1):
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
size_t llama3_like(const Span& s, size_t i, size_t max_digits) {
    if (size_t end = contraction(s, i, true); end > i) return end;
    if (s.is(i, kLetter)) return s.run_of(i, kLetter);
    if (!s.is(i, kNumber) && !s.newline(i) && s.is(i + 1, kLetter)) return s.run_of(i + 1, kLetter);
    if (s.is(i, kNumber)) return s.run_of(i, kNumber, max_digits);
    if (size_t end = symbols(s, i, false); end > i) return end;
    return s.is(i, kSpace) ? spaces(s, i) : i;
}
size_t llama3_rule(const Span& s, size_t i) { return llama3_like(s, i, 3); }
size_t qwen2_rule(const Span& s, size_t i) { return llama3_like(s, i, 1); }

// Mistral's Tekken and GPT-4o split words at case changes. llama.cpp's regex engine sees any
// non-ASCII letter as both cases, so "upper" is a letter but a-z, "lower" a letter but A-Z:
//   [^\r\n\p{L}\p{N}]?upper*lower+C|[^\r\n\p{L}\p{N}]?upper+lower*C|\p{N}{1,D}|
//    ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
// with C the optional contraction (GPT-4o) and D 1 (Tekken) or 3 (GPT-4o).
size_t cased_words(const Span& s, size_t i, bool contractions, size_t max_digits) {
    auto upper = [&](size_t k) { return s.is(k, kLetter) && !(s.at(k) >= 'a' && s.at(k) <= 'z'); };
    auto lower = [&](size_t k) { return s.is(k, kLetter) && !(s.at(k) >= 'A' && s.at(k) <= 'Z'); };
    auto suffix = [&](size_t end) { return contractions ? contraction(s, end, true) : end; };
    const bool prefix = i < s.n && !s.is(i, kLetter | kNumber) && !s.newline(i);
    // The regex engine tries the longest upper run first, then backs off one at a time.
    for (size_t start : {i + 1, i}) {
        if (start > i && !prefix) continue;
        const size_t upper_end = s.run(start, upper);
        for (size_t k = upper_end + 1; k-- > start;)
            if (lower(k)) return suffix(s.run(k, lower));
    }
    for (size_t start : {i + 1, i}) {
        if (start > i && !prefix) continue;
        const size_t upper_end = s.run(start, upper);
        if (upper_end > start) return suffix(s.run(upper_end, lower));
    }
    if (s.is(i, kNumber)) return s.run_of(i, kNumber, max_digits);
    if (size_t end = symbols(s, i, true); end > i) return end;
    return s.is(i, kSpace) ? spaces(s, i) : i;
}
size_t tekken_rule(const Span& s, size_t i) { return cased_words(s, i, false, 1); }
size_t gpt4o_rule(const Span& s, size_t i) { return cased_words(s, i, true, 3); }

// DeepSeek V3:
//   [!-/:-@[-`{-~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
size_t deepseek3_rule(const Span& s, size_t i) {
    auto ascii_letter = [&](size_t k) { return s.at(k) < 0x80 && s.is(k, kLetter); };
    const uint32_t c = s.at(i);
    const bool ascii_mark = c > ' ' && c < 0x7f && !(c >= '0' && c <= '9') && !ascii_letter(i);
    if (ascii_mark && ascii_letter(i + 1)) return s.run(i + 1, ascii_letter);
    const bool prefix = i < s.n && !s.is(i, kLetter | kPunct | kSymbol) && !s.newline(i);
    if (prefix && s.is(i + 1, kLetter | kMark)) return s.run_of(i + 1, kLetter | kMark);
    if (s.is(i, kLetter | kMark)) return s.run_of(i, kLetter | kMark);
    const size_t j = (c == ' ' && s.is(i + 1, kPunct | kSymbol)) ? i + 1 : i;
    if (s.is(j, kPunct | kSymbol)) {
        size_t end = s.run_of(j, kPunct | kSymbol);
        while (s.newline(end)) ++end;
        return end;
    }
    return s.is(i, kSpace) ? spaces(s, i) : i;
}

// --- the smaller rules the rule sets combine ---------------------------------------------

size_t newline_rule(const Span& s, size_t i) { return s.newline(i) ? i + 1 : i; }  // [\r\n]
size_t digit_rule(const Span& s, size_t i) { return s.is(i, kNumber) ? i + 1 : i; }  // \p{N}
size_t digits_rule(const Span& s, size_t i) { return s.run_of(i, kNumber); }        // \p{N}+
size_t digits3_rule(const Span& s, size_t i) { return s.run_of(i, kNumber, 3); }    // \p{N}{1,3}
size_t three_ascii_digits_rule(const Span& s, size_t i) {  // [0-9][0-9][0-9]
    auto digit = [&](size_t k) { return s.at(k) >= '0' && s.at(k) <= '9'; };
    return digit(i) && digit(i + 1) && digit(i + 2) ? i + 3 : i;
}

// \s?X+ for a class X.
template <class Pred>
size_t space_then_run(const Span& s, size_t i, Pred in_class) {
    if (s.is(i, kSpace) && in_class(i + 1)) return s.run(i + 1, in_class);
    return s.run(i, in_class);
}
size_t space_letters_rule(const Span& s, size_t i) {  // \s?\p{L}+
    return space_then_run(s, i, [&](size_t k) { return s.is(k, kLetter); });
}
size_t space_punct_rule(const Span& s, size_t i) {  // \s?\p{P}+
    return space_then_run(s, i, [&](size_t k) { return s.is(k, kPunct); });
}

// llama.cpp hands a class of literal characters to the regex engine with its non-ASCII
// whitespace replaced by \v, so such a class never matches whitespace.
bool in_ranges(const Span& s, size_t k, std::initializer_list<std::pair<uint32_t, uint32_t>> ranges) {
    if (k >= s.n || s.is(k, kSpace)) return false;
    for (auto [first, last] : ranges)
        if (s.at(k) >= first && s.at(k) <= last) return true;
    return false;
}

size_t cjk_rule(const Span& s, size_t i) {  // [一-龥ࠀ-一가-퟿]+
    return s.run(i, [&](size_t k) { return in_ranges(s, k, {{0x800, 0x9FA5}, {0xAC00, 0xD7FF}}); });
}
size_t kana_han_rule(const Span& s, size_t i) {  // [一-龥぀-ゟ゠-ヿ]+
    return s.run(i, [&](size_t k) { return in_ranges(s, k, {{0x4E00, 0x9FA5}, {0x3040, 0x30FF}}); });
}

// DeepSeek LLM's letters: \s?[A-Za-zµÀ-ÖØ-öø-ƺ...]+ (the cased letters of many scripts).
size_t deepseek_letters_rule(const Span& s, size_t i) {
    return space_then_run(s, i, [&](size_t k) {
        return in_ranges(s, k, {
            {0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA},
            {0x1BC, 0x1BF}, {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377},
            {0x37B, 0x37D}, {0x37F, 0x37F}, {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C},
            {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481}, {0x48A, 0x52F}, {0x531, 0x556},
            {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF},
            {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D},
            {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B},
            {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE},
            {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC},
            {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102}, {0x2107, 0x2107}, {0x210A, 0x2113},
            {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126}, {0x2128, 0x2128},
            {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149},
            {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE},
            {0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F}, {0xA771, 0xA787},
            {0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A},
            {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
            {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943}});
    });
}
size_t deepseek_marks_rule(const Span& s, size_t i) {  // \s?[!-/:-~！-／：-～‘-‟　-。]+
    return space_then_run(s, i, [&](size_t k) {
        return in_ranges(s, k, {{0x21, 0x2F}, {0x3A, 0x7E}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E},
                                {0x2018, 0x201F}, {0x3000, 0x3002}});
    });
}
size_t trailing_spaces_rule(const Span& s, size_t i) {  // \s+$
    const size_t end = s.run_of(i, kSpace);
    return end == s.n ? end : i;
}

// Falcon's and the default rule set's runs of marks: [\p{P}\$\+<=>\^~\|]+, with ` for Falcon.
size_t marks_run(const Span& s, size_t i, bool backtick) {
    return s.run(i, [&](size_t k) {
        const uint32_t c = s.at(k);
        return s.is(k, kPunct) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' ||
               c == '~' || c == '|' || (backtick && c == '`');
    });
}
size_t falcon_marks_rule(const Span& s, size_t i) { return marks_run(s, i, true); }
size_t default_marks_rule(const Span& s, size_t i) { return marks_run(s, i, false); }

// BLOOM: ` ?[^(\s|.,!?…。，、।۔،)]+`, words up to whitespace and sentence marks.
size_t bloom_rule(const Span& s, size_t i) {
    auto word = [&](size_t k) {
        if (k >= s.n || s.is(k, kSpace)) return false;
        for (uint32_t c : {uint32_t{'('}, uint32_t{'|'}, uint32_t{'.'}, uint32_t{','}, uint32_t{'!'}, uint32_t{'?'}, uint32_t{')'}, 0x2026u, 0x3002u, 0xFF0Cu, 0x3001u, 0x0964u,
                           0x06D4u, 0x060Cu})
            if (s.at(k) == c) return false;
        return true;
    };
    if (s.at(i) == ' ' && word(i + 1)) return s.run(i + 1, word);
    return s.run(i, word);
}

// Chameleon's rules before GPT-2's: <sentinel:[0-9]+>, the image tokens
// IMGIMG[A-I]{1,4}Z, ([\t\n]|    |  ), \p{N}, and one mark [\p{P}!-/:-@\[-`{-~].
size_t sentinel_rule(const Span& s, size_t i) {
    const std::string_view head = "<sentinel:";
    for (size_t k = 0; k < head.size(); ++k)
        if (s.at(i + k) != static_cast<uint8_t>(head[k])) return i;
    const size_t digits = s.run(i + head.size(), [&](size_t k) { return s.at(k) >= '0' && s.at(k) <= '9'; });
    return digits > i + head.size() && s.at(digits) == '>' ? digits + 1 : i;
}
size_t image_token_rule(const Span& s, size_t i) {
    for (size_t k = 0; k < 6; ++k)
        if (s.at(i + k) != static_cast<uint8_t>("IMGIMG"[k])) return i;
    const size_t end = s.run(i + 6, [&](size_t k) { return s.at(k) >= 'A' && s.at(k) <= 'I'; }, 4);
    return end > i + 6 && s.at(end) == 'Z' ? end + 1 : i;
}
size_t chameleon_spaces_rule(const Span& s, size_t i) {
    if (s.at(i) == '\t' || s.at(i) == '\n') return i + 1;
    auto spaces_from = [&](size_t k) { return s.run(k, [&](size_t m) { return s.at(m) == ' '; }, 4) - k; };
    const size_t n = spaces_from(i);
    return n == 4 ? i + 4 : n >= 2 ? i + 2 : i;
}
size_t chameleon_mark_rule(const Span& s, size_t i) {
    const uint32_t c = s.at(i);
    const bool ascii_mark = c > ' ' && c < 0x7f && !s.is(i, kLetter | kNumber);
    return ascii_mark || s.is(i, kPunct) ? i + 1 : i;
}

struct RuleSet {
    const char* names;  // llama.cpp's tokenizer.ggml.pre names, space-separated
    PreTokenizer pre;
    std::vector<Rule> rules;
};

const std::vector<RuleSet>& rule_sets() {
    static const std::vector<RuleSet> sets = {
        {"default", PreTokenizer::default_rules,
         {default_marks_rule, gpt2_rule, digits_rule, three_ascii_digits_rule}},
        {"gpt-2 gpt2 mpt olmo jais phi-2 roberta-bpe jina-es jina-de jina-v1-en jina-v2-es jina-v2-de "
         "jina-v2-code gigachat",
         PreTokenizer::gpt2, {gpt2_rule}},
        {"llama-bpe llama3 llama-v3 falcon3 dbrx smaug-bpe chatglm-bpe", PreTokenizer::llama3, {llama3_rule}},
        {"deepseek-llm", PreTokenizer::deepseek_llm,
         {newline_rule, deepseek_letters_rule, deepseek_marks_rule, trailing_spaces_rule, cjk_rule, digits_rule}},
        {"deepseek-coder", PreTokenizer::deepseek_coder,
         {newline_rule, space_letters_rule, space_punct_rule, cjk_rule, digit_rule}},
        {"deepseek-v3", PreTokenizer::deepseek3, {digits3_rule, kana_han_rule, deepseek3_rule}},
        {"falcon", PreTokenizer::falcon, {falcon_marks_rule, gpt2_rule, three_ascii_digits_rule}},
        {"starcoder refact command-r smollm codeshell exaone minerva-7b", PreTokenizer::starcoder,
         {digit_rule, gpt2_rule}},
        {"qwen2 deepseek-r1-qwen stablelm2 megrez", PreTokenizer::qwen2, {qwen2_rule}},
        {"bloom poro-chat gpt3-finnish", PreTokenizer::bloom, {bloom_rule}},
        {"viking", PreTokenizer::viking, {bloom_rule, digit_rule}},
        {"tekken", PreTokenizer::tekken, {tekken_rule}},
        {"chameleon", PreTokenizer::chameleon,
         {sentinel_rule, image_token_rule, chameleon_spaces_rule, digit_rule, chameleon_mark_rule, gpt2_rule}},
        {"gpt-4o llama4", PreTokenizer::gpt4o, {gpt4o_rule}},
    };
    return sets;
}

const RuleSet& rule_set(PreTokenizer pre) {
    for (const RuleSet& set : rule_sets())
        if (set.pre == pre) return set;
    return rule_sets()[1];
}

}  // namespace

size_t piece_end(std::string_view text, size_t begin, size_t piece_bytes) {
    // Not before '/': Tekken's and GPT-4o's symbol runs take "\n/" with them.
    auto printable = [&](size_t i) { return text[i] > ' ' && text[i] < 0x7f && text[i] != '/'; };
    size_t end = begin + std::max<size_t>(piece_bytes, 1);
    while (end < text.size() && !(end >= 2 && text[end - 1] == '\n' && printable(end - 2) && printable(end))) ++end;
    return std::min(end, text.size());
}

static std::vector<std::string_view> split_with_rules(std::string_view text, const std::vector<Rule>& rules) {
    std::vector<uint32_t> cps;
    std::vector<uint8_t> flags;
    std::vector<size_t> offsets;  // byte offset of each character, and the text's end
    cps.reserve(text.size()), flags.reserve(text.size()), offsets.reserve(text.size() + 1);
    for (size_t pos = 0; pos < text.size();) {
        Decoded d = decode_utf8(text, pos);
        cps.push_back(d.cp);
        flags.push_back(flags_of(d.cp));
        offsets.push_back(pos);
        pos += d.len;
    }
    offsets.push_back(text.size());
    // Pieces as the character index each ends at; a rule cuts each into matches and gaps.
    std::vector<size_t> ends, next;
    if (!cps.empty()) ends.push_back(cps.size());
    for (Rule rule : rules) {
        next.clear();
        size_t begin = 0;
        for (size_t end : ends) {
            const Span s{cps.data() + begin, flags.data() + begin, end - begin};
            size_t gap = 0;
            for (size_t i = 0; i < s.n;) {
                const size_t match = rule(s, i);
                if (match == i) {
                    ++i;
                    continue;
                }
                if (gap < i) next.push_back(begin + i);
                next.push_back(begin + match);
                gap = i = match;
            }
            if (gap < s.n) next.push_back(end);
            begin = end;
        }
        std::swap(ends, next);
    }
    std::vector<std::string_view> pieces;
    pieces.reserve(ends.size());
    size_t begin = 0;
    for (size_t end : ends) {
        pieces.push_back(text.substr(offsets[begin], offsets[end] - offsets[begin]));
        begin = end;
    }
    return pieces;
}

std::vector<std::string_view> gpt2_pretokenize(std::string_view text) { return pretokenize(PreTokenizer::gpt2, text); }
std::vector<std::string_view> llama3_pretokenize(std::string_view text) {
    return pretokenize(PreTokenizer::llama3, text);
}

PreTokenizer pre_tokenizer_named(const std::string& name, const std::string& source) {
    // llama.cpp reads a missing name as "default".
    const std::string_view key = name.empty() ? std::string_view("default") : std::string_view(name);
    for (const RuleSet& set : rule_sets()) {
        std::string_view names = set.names;
        while (!names.empty()) {
            const size_t space = std::min(names.find(' '), names.size());
            if (names.substr(0, space) == key) return set.pre;
            names.remove_prefix(std::min(space + 1, names.size()));
        }
    }
    fail(source, ": pre-tokenizer '", name, "' (tokenizer.ggml.pre) is not supported; lm knows ",
         supported_pre_tokenizers());
}

std::string supported_pre_tokenizers() {
    std::string all;
    for (const RuleSet& set : rule_sets()) {
        for (const char* c = set.names; *c; ++c) all += *c == ' ' ? ", " : std::string(1, *c);
        if (&set != &rule_sets().back()) all += ", ";
    }
    return all;
}

std::vector<std::string_view> pretokenize(PreTokenizer pre, std::string_view text) {
    return split_with_rules(text, rule_set(pre).rules);
}

}  // namespace lm
