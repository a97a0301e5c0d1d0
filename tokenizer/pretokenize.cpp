// The pre-tokenizers of byte-level BPE: the regular expressions GPT-2 and Llama 3 split text
// with before merging, written out by hand over code points. Pieces are byte ranges of the
// input; invalid UTF-8 bytes count as symbols (neither letter, digit nor space).
#include <algorithm>
#include <cstdint>

#include "tokenizer/models.h"
#include "tokenizer/unicode.h"
#include "weights/error.h"

namespace lm {

namespace {

struct Char {
    uint32_t cp;
    size_t pos, len;
};

enum class Kind { letter, number, space, other };

Kind kind_of(uint32_t cp) {
    if (is_white_space(cp)) return Kind::space;
    CharClass c = char_class(cp);
    if (c == CharClass::L) return Kind::letter;
    if (c == CharClass::N) return Kind::number;
    return Kind::other;
}

bool is_newline(uint32_t cp) { return cp == '\r' || cp == '\n'; }

// The text as characters and their kinds, and the pieces cut out of it so far.
struct Splitter {
    std::string_view text;
    std::vector<Char> chars;
    std::vector<Kind> kinds;
    std::vector<std::string_view> pieces;

    explicit Splitter(std::string_view t) : text(t) {
        for (size_t pos = 0; pos < text.size();) {
            Decoded d = decode_utf8(text, pos);
            chars.push_back({d.cp, pos, d.len});
            kinds.push_back(kind_of(d.cp));
            pos += d.len;
        }
    }
    size_t size() const { return chars.size(); }
    uint32_t cp(size_t i) const { return i < chars.size() ? chars[i].cp : 0; }
    Kind kind(size_t i) const { return i < kinds.size() ? kinds[i] : Kind::space; }
    size_t run(size_t from, Kind k, size_t max = SIZE_MAX) const {  // end of a run of kind k
        size_t end = from;
        while (end < size() && end - from < max && kinds[end] == k) ++end;
        return end;
    }
    void emit(size_t first, size_t end) {  // characters [first, end)
        size_t from = chars[first].pos, to = chars[end - 1].pos + chars[end - 1].len;
        pieces.push_back(text.substr(from, to - from));
    }
    // Length in characters of a contraction ('s 't 're 've 'm 'll 'd) at i, or 0.
    size_t contraction(size_t i, bool any_case) const {
        auto at = [&](size_t k) {
            uint32_t c = cp(i + k);
            return (any_case && c >= 'A' && c <= 'Z') ? c + 32 : c;
        };
        if (at(0) != '\'') return 0;
        uint32_t a = at(1), b = at(2);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
        return 0;
    }
};

}  // namespace

size_t piece_end(std::string_view text, size_t begin, size_t piece_bytes) {
    auto printable = [&](size_t i) { return text[i] > ' ' && text[i] < 0x7f; };
    size_t end = begin + std::max<size_t>(piece_bytes, 1);
    while (end < text.size() && !(end >= 2 && text[end - 1] == '\n' && printable(end - 2) && printable(end))) ++end;
    return std::min(end, text.size());
}

// GPT-2's regex, by hand:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
std::vector<std::string_view> gpt2_pretokenize(std::string_view text) {
    Splitter s(text);
    const size_t n = s.size();
    for (size_t i = 0; i < n;) {
        size_t end = s.contraction(i, false);
        if (end) {
            end += i;
        } else {
            // An optional single ' ' joins the run of letters, digits or other symbols after it.
            size_t j = (s.cp(i) == ' ' && i + 1 < n && s.kind(i + 1) != Kind::space) ? i + 1 : i;
            end = s.run(j, s.kind(j));
            // \s+(?!\S) leaves the last space of a run to prefix the word that follows.
            if (s.kind(j) == Kind::space && end < n && end - i > 1) --end;
        }
        s.emit(i, end);
        i = end;
    }
    return std::move(s.pieces);
}

// Llama 3's regex, by hand:
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
std::vector<std::string_view> llama3_pretokenize(std::string_view text) {
    Splitter s(text);
    const size_t n = s.size();
    for (size_t i = 0; i < n;) {
        size_t end = s.contraction(i, true);
        if (end) {
            end += i;
        } else if (s.kind(i) == Kind::letter) {
            end = s.run(i, Kind::letter);
        } else if (s.kind(i) != Kind::number && !is_newline(s.cp(i)) && s.kind(i + 1) == Kind::letter) {
            end = s.run(i + 1, Kind::letter);  // one leading mark or space joins the letters
        } else if (s.kind(i) == Kind::number) {
            end = s.run(i, Kind::number, 3);  // digits in groups of at most three
        } else if (s.kind(i) == Kind::other || (s.cp(i) == ' ' && s.kind(i + 1) == Kind::other)) {
            end = s.run(s.cp(i) == ' ' ? i + 1 : i, Kind::other);
            while (end < n && is_newline(s.cp(end))) ++end;
        } else {
            // Spaces: through the last newline of the run, else all but the one before a word.
            const size_t run_end = s.run(i, Kind::space);
            for (size_t k = i; k < run_end; ++k)
                if (is_newline(s.cp(k))) end = k + 1;
            if (!end) end = (run_end < n && run_end - i > 1) ? run_end - 1 : run_end;
        }
        s.emit(i, end);
        i = end;
    }
    return std::move(s.pieces);
}

PreTokenizer pre_tokenizer_named(const std::string& name, const std::string& source) {
    // llama.cpp's names (tokenizer.ggml.pre); none, or "default", is taken as GPT-2's.
    for (const char* gpt2 : {"", "default", "gpt-2", "gpt2", "phi-2", "roberta-bpe"})
        if (name == gpt2) return PreTokenizer::gpt2;
    for (const char* llama3 : {"llama3", "llama-v3", "llama-bpe", "falcon3"})
        if (name == llama3) return PreTokenizer::llama3;
    fail(source, ": pre-tokenizer '", name, "' (tokenizer.ggml.pre) is not supported; lm knows gpt-2 and llama-bpe");
}

std::vector<std::string_view> pretokenize(PreTokenizer pre, std::string_view text) {
    return pre == PreTokenizer::llama3 ? llama3_pretokenize(text) : gpt2_pretokenize(text);
}

}  // namespace lm
