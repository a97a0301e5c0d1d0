// GPT-2 byte-level BPE: split text with the pre-tokenizer (tokenizer/pretokenize.cpp), spell
// each piece's bytes as printable characters, then apply the merges in rank order.
#include "tokenizer/models.h"
#include "tokenizer/unicode.h"
#include "weights/error.h"

namespace lm {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes
// are given the code points 256, 257, ... in byte order.
uint32_t gpt2_byte_char(uint8_t b) {
    auto printable = [](int c) { return (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE; };
    if (printable(b)) return b;
    uint32_t n = 0;
    for (int c = 0; c < b; ++c)
        if (!printable(c)) ++n;
    return 256 + n;
}

namespace {

// The inverse of gpt2_byte_char, -1 for a character that stands for no byte.
int char_to_byte(uint32_t cp) {
    static const std::array<int16_t, 512> table = [] {
        std::array<int16_t, 512> t;
        t.fill(-1);
        for (int b = 0; b < 256; ++b) t[gpt2_byte_char(static_cast<uint8_t>(b))] = static_cast<int16_t>(b);
        return t;
    }();
    return cp < table.size() ? table[cp] : -1;
}

}  // namespace

BpeModel make_bpe(const Vocab& vocab, const std::vector<std::string>& merges, const std::string& source) {
    BpeModel bpe;
    bpe.ranks.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
        if (merges[i].find(' ', 1) == std::string::npos)
            fail(source, ": merge ", i, " \"", merges[i], "\" is not two tokens separated by a space");
        bpe.ranks.emplace(merges[i], static_cast<int32_t>(i));  // the first rank of a duplicate wins
    }
    for (int b = 0; b < 256; ++b) {
        bpe.byte_chars[b].clear();
        append_utf8(bpe.byte_chars[b], gpt2_byte_char(static_cast<uint8_t>(b)));
        bpe.byte_ids[b] = vocab.find(bpe.byte_chars[b]);
    }
    return bpe;
}

namespace {

// Merges one pre-tokenized piece and appends its ids; symbol i starts as the piece's byte i,
// so a final symbol covers the piece's bytes up to the next surviving symbol.
void encode_piece(const Vocab& vocab, const BpeModel& bpe, std::string_view piece, uint32_t offset,
                  std::vector<int32_t>& out, std::vector<ByteSpan>* spans) {
    std::string spelled, key;
    std::vector<MergeSymbol> symbols;
    for (char c : piece) {
        const std::string& ch = bpe.byte_chars[static_cast<uint8_t>(c)];
        int32_t i = static_cast<int32_t>(symbols.size());
        symbols.push_back({static_cast<uint32_t>(spelled.size()), static_cast<uint32_t>(ch.size()), i - 1, i + 1});
        spelled += ch;
    }
    symbols.back().next = -1;
    if (bpe.ignore_merges) {  // Llama 3: a piece that is a token is that token
        int32_t id = vocab.find(spelled);
        if (id >= 0) {
            out.push_back(id);
            if (spans) spans->push_back({offset, offset + static_cast<uint32_t>(piece.size())});
            return;
        }
    }
    merge_pairs(spelled, symbols, [&](std::string_view a, std::string_view b) -> std::optional<double> {
        key.assign(a);
        key += ' ';
        key += b;
        auto it = bpe.ranks.find(key);
        if (it == bpe.ranks.end()) return std::nullopt;
        return -static_cast<double>(it->second);
    });
    for (int32_t i = 0; i >= 0; i = symbols[i].next) {
        std::string_view sym = std::string_view(spelled).substr(symbols[i].start, symbols[i].len);
        const uint32_t begin = offset + static_cast<uint32_t>(i);
        int32_t id = vocab.find(sym);
        if (id >= 0) {
            out.push_back(id);
            uint32_t end = offset + static_cast<uint32_t>(symbols[i].next >= 0 ? symbols[i].next : piece.size());
            if (spans) spans->push_back({begin, end});
            continue;
        }
        // A merge result missing from the vocabulary: fall back to its bytes' tokens.
        uint32_t k = 0;
        for (size_t pos = 0; pos < sym.size(); ++k) {
            Decoded d = decode_utf8(sym, pos);
            int b = char_to_byte(d.cp);
            if (b >= 0 && bpe.byte_ids[b] >= 0) {
                out.push_back(bpe.byte_ids[b]);
                if (spans) spans->push_back({begin + k, begin + k + 1});
            }
            pos += d.len;
        }
    }
}

}  // namespace

void bpe_encode(const Vocab& vocab, const BpeModel& bpe, std::string_view text, std::vector<int32_t>& out,
                std::vector<ByteSpan>* spans) {
    // Words repeat: each distinct piece is merged once per call, later copies reuse its ids.
    struct Seen {
        size_t first, count;
        uint32_t offset;
    };
    std::unordered_map<std::string_view, Seen> seen;
    for (std::string_view piece : pretokenize(bpe.pre, text)) {
        const auto offset = static_cast<uint32_t>(piece.data() - text.data());
        if (auto it = seen.find(piece); it != seen.end()) {
            const Seen& s = it->second;
            for (size_t k = 0; k < s.count; ++k) {
                int32_t id = out[s.first + k];
                out.push_back(id);
                if (spans) {
                    ByteSpan span = (*spans)[s.first + k];
                    spans->push_back({span.begin - s.offset + offset, span.end - s.offset + offset});
                }
            }
            continue;
        }
        const size_t first = out.size();
        encode_piece(vocab, bpe, piece, offset, out, spans);
        seen.emplace(piece, Seen{first, out.size() - first, offset});
    }
}

std::string bpe_decode(const Vocab& vocab, int32_t id) {
    const std::string& text = vocab.tokens[id];
    switch (vocab.types[id]) {
        case TokenType::normal: {
            std::string out;
            for (size_t pos = 0; pos < text.size();) {
                Decoded d = decode_utf8(text, pos);
                int b = char_to_byte(d.cp);
                if (b >= 0) out += static_cast<char>(b);
                else out.append(text, pos, d.len);  // not a byte stand-in: keep as written
                pos += d.len;
            }
            return out;
        }
        case TokenType::user_defined:
            return text;
        default:
            return "";
    }
}

}  // namespace lm
