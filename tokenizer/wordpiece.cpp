// BERT WordPiece: Hugging Face's BertNormalizer and BertPreTokenizer, then greedy longest
// match. Vocabularies use llama.cpp's GGUF spelling: a word-initial piece is "▁piece", a
// continuation piece is bare (Hugging Face's "##piece"); "[CLS]"-like tokens stay as they are.
#include "tokenizer/models.h"
#include "tokenizer/unicode.h"

namespace lm {

namespace {

const std::string_view kSpace = "\xE2\x96\x81";  // U+2581

bool is_bert_control(uint32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return false;
    return char_class(cp) == CharClass::C;
}

bool is_bert_punctuation(uint32_t cp) {
    bool ascii = (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
                 (cp >= 123 && cp <= 126);
    return ascii || char_class(cp) == CharClass::P;
}

}  // namespace

std::vector<BertWord> bert_words(std::string_view text, bool lowercase) {
    std::vector<BertWord> words(1);
    auto end_word = [&] {
        if (!words.back().text.empty()) words.emplace_back();
    };
    auto append = [&](uint32_t cp, ByteSpan from) {
        BertWord& w = words.back();
        append_utf8(w.text, cp);
        w.source.resize(w.text.size(), from);
    };
    auto add_char = [&](uint32_t cp, ByteSpan from) {
        bool alone = is_bert_punctuation(cp) || is_cjk_ideograph(cp);  // a word of its own
        if (alone) end_word();
        append(cp, from);
        if (alone) end_word();
    };
    std::string stripped;
    for (size_t pos = 0; pos < text.size();) {
        Decoded d = decode_utf8(text, pos);
        const ByteSpan from{static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + d.len)};
        pos += d.len;
        uint32_t cp = d.cp;
        if (cp == 0 || cp == 0xFFFD || cp >= invalid_codepoint || is_bert_control(cp)) continue;
        if (is_white_space(cp)) {
            end_word();
        } else if (!lowercase || is_cjk_ideograph(cp)) {
            add_char(cp, from);
        } else {
            // BertNormalizer strips accents (NFD minus Mn marks), then lowercases.
            stripped.clear();
            append_stripped(stripped, cp);
            for (size_t i = 0; i < stripped.size();) {
                Decoded s = decode_utf8(stripped, i);
                i += s.len;
                add_char(to_lower(s.cp), from);
            }
        }
    }
    if (words.back().text.empty()) words.pop_back();
    return words;
}

std::vector<std::string> bert_pretokenize(std::string_view text, bool lowercase) {
    std::vector<std::string> texts;
    for (BertWord& w : bert_words(text, lowercase)) texts.push_back(std::move(w.text));
    return texts;
}

void wordpiece_encode(const Vocab& vocab, int32_t unk_id, std::string_view text, std::vector<int32_t>& out,
                      std::vector<ByteSpan>* spans) {
    std::string candidate;
    for (const BertWord& w : bert_words(text, true)) {
        const std::string& word = w.text;
        std::vector<size_t> bounds;  // byte offsets of character starts, then the end
        for (size_t pos = 0; pos < word.size(); pos += decode_utf8(word, pos).len) bounds.push_back(pos);
        const size_t n_chars = bounds.size();
        bounds.push_back(word.size());
        const size_t first_token = out.size();
        bool ok = n_chars <= kWordPieceMaxChars;
        for (size_t start = 0; ok && start < n_chars;) {
            // Longest vocabulary entry starting at this character (none is longer than max_len).
            const size_t prefix = start == 0 ? kSpace.size() : 0;
            size_t end = n_chars;
            while (vocab.max_len && end > start + 1 && prefix + bounds[end] - bounds[start] > vocab.max_len) --end;
            int32_t id = -1;
            for (; end > start; --end) {
                candidate.assign(start == 0 ? kSpace : std::string_view());
                candidate.append(word, bounds[start], bounds[end] - bounds[start]);
                if ((id = vocab.find(candidate)) >= 0) break;
            }
            if (id < 0) ok = false;
            else out.push_back(id);
            if (id >= 0 && spans) spans->push_back({w.source[bounds[start]].begin, w.source[bounds[end] - 1].end});
            start = end;
        }
        if (!ok) {  // the whole word is unknown
            out.resize(first_token);
            if (spans) spans->resize(first_token);
            if (unk_id >= 0) out.push_back(unk_id);
            if (unk_id >= 0 && spans) spans->push_back({w.source.front().begin, w.source.back().end});
        }
    }
}

std::string wordpiece_decode(const Vocab& vocab, int32_t id, bool first) {
    const std::string& text = vocab.tokens[id];
    TokenType type = vocab.types[id];
    if (type != TokenType::normal && type != TokenType::user_defined) return "";
    if (text.compare(0, kSpace.size(), kSpace) != 0) return text;  // continues a word
    std::string word = text.substr(kSpace.size());
    bool tight = word.size() == 1 && std::string_view(".,!?").find(word[0]) != std::string_view::npos;
    return (first || tight) ? word : " " + word;  // no space before . , ! ? (HF's clean-up)
}

}  // namespace lm
