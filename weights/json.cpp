#include "weights/json.h"

#include <algorithm>
#include <charconv>

#include "weights/error.h"
#include "weights/files.h"
#include "weights/utf8.h"

namespace lm {

const char* json_type_name(Json::Type t) {
    static const char* names[] = {"null", "bool", "number", "string", "array", "object"};
    return names[static_cast<int>(t)];
}

const Json* Json::find(std::string_view key) const {
    for (const auto& [k, v] : members)
        if (k == key) return &v;
    return nullptr;
}

namespace {

// Length of the valid UTF-8 sequence at s[pos] (no overlongs, surrogates or > U+10FFFF), or 0.
size_t utf8_sequence(std::string_view s, size_t pos) {
    auto b = [&](size_t i) { return static_cast<uint8_t>(s[pos + i]); };
    uint8_t b0 = b(0);
    size_t len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 ? 2 : 0;
    if (len == 0 || b0 > 0xF4 || pos + len > s.size()) return 0;
    for (size_t i = 1; i < len; ++i)
        if ((b(i) & 0xC0) != 0x80) return 0;
    if (b0 == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (b0 == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    if (b0 == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (b0 == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return len;
}

class Parser {
public:
    Parser(std::string_view text, const std::string& source, int max_depth)
        : text_(text), source_(source), max_depth_(max_depth) {}

    Json document() {
        if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // a UTF-8 byte order mark
        skip_space();
        Json v = value(0);
        skip_space();
        if (pos_ != text_.size()) error("unexpected text after the value");
        return v;
    }

private:
    [[noreturn]] void error(const std::string& what) const {
        size_t line = 1, column = 1;
        for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
            if (text_[i] == '\n') ++line, column = 1;
            else ++column;
        }
        fail(source_, ": JSON error at line ", line, ", column ", column, ": ", what);
    }

    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return text_[pos_]; }

    void skip_space() {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
    }

    void expect(char c) {
        if (at_end()) error(concat("expected '", c, "' but the input ended"));
        if (peek() != c) error(concat("expected '", c, "'"));
        ++pos_;
    }

    Json value(int depth) {
        if (at_end()) error("unexpected end of input");
        switch (peek()) {
            case '{': return object(depth);
            case '[': return array(depth);
            case '"': {
                Json v;
                v.type = Json::Type::string;
                v.str = string();
                return v;
            }
            case 't': return literal("true", Json::Type::boolean, true);
            case 'f': return literal("false", Json::Type::boolean, false);
            case 'n': return literal("null", Json::Type::null, false);
            default:
                if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return number();
                error(concat("unexpected character '", peek(), "'"));
        }
    }

    Json literal(std::string_view word, Json::Type type, bool boolean) {
        if (text_.substr(pos_, word.size()) != word) error("invalid literal");
        pos_ += word.size();
        Json v;
        v.type = type;
        v.boolean = boolean;
        return v;
    }

    void enter(int depth) {
        if (depth >= max_depth_) error(concat("nesting deeper than ", max_depth_, " levels"));
        ++pos_;
        skip_space();
    }

    Json object(int depth) {
        enter(depth);
        Json v;
        v.type = Json::Type::object;
        if (!at_end() && peek() == '}') {
            ++pos_;
            return v;
        }
        while (true) {
            skip_space();
            if (at_end() || peek() != '"') error("expected a string key");
            std::string key = string();
            skip_space();
            expect(':');
            skip_space();
            v.members.push_back({std::move(key), value(depth + 1)});
            skip_space();
            if (at_end()) error("unterminated object");
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() != '}') error("expected ',' or '}'");
            ++pos_;
            break;
        }
        check_unique_keys(v);
        return v;
    }

    void check_unique_keys(const Json& v) {
        std::vector<std::string_view> keys;
        keys.reserve(v.members.size());
        for (const auto& m : v.members) keys.push_back(m.key);
        std::sort(keys.begin(), keys.end());
        auto dup = std::adjacent_find(keys.begin(), keys.end());
        if (dup != keys.end()) error(concat("duplicate key \"", *dup, "\" in the object ending here"));
    }

    Json array(int depth) {
        enter(depth);
        Json v;
        v.type = Json::Type::array;
        if (!at_end() && peek() == ']') {
            ++pos_;
            return v;
        }
        while (true) {
            skip_space();
            v.items.push_back(value(depth + 1));
            skip_space();
            if (at_end()) error("unterminated array");
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() != ']') error("expected ',' or ']'");
            ++pos_;
            break;
        }
        return v;
    }

    uint32_t hex4() {
        if (text_.size() - pos_ < 4) error("truncated \\u escape");
        uint32_t cp = 0;
        for (int i = 0; i < 4; ++i) {
            char c = text_[pos_++];
            int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
            if (d < 0) error("invalid hex digit in \\u escape");
            cp = cp * 16 + static_cast<uint32_t>(d);
        }
        return cp;
    }

    void escape(std::string& out) {
        if (at_end()) error("unterminated string");
        char c = text_[pos_++];
        switch (c) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                uint32_t cp = hex4();
                if (cp >= 0xDC00 && cp <= 0xDFFF) error("lone low surrogate in \\u escape");
                if (cp >= 0xD800 && cp <= 0xDBFF) {  // a UTF-16 pair: \uD83D\uDE00
                    if (text_.substr(pos_, 2) != "\\u") error("high surrogate without its low half");
                    pos_ += 2;
                    uint32_t low = hex4();
                    if (low < 0xDC00 || low > 0xDFFF) error("high surrogate without its low half");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                }
                encode_utf8(out, cp);
                break;
            }
            default:
                --pos_;
                error(concat("invalid escape '\\", c, "'"));
        }
    }

    std::string string() {
        ++pos_;  // opening quote
        std::string out;
        while (true) {
            if (at_end()) error("unterminated string");
            auto c = static_cast<uint8_t>(peek());
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (c == '\\') {
                ++pos_;
                escape(out);
            } else if (c < 0x20) {
                error("control character in string");
            } else if (c < 0x80) {
                out += static_cast<char>(c);
                ++pos_;
            } else {
                size_t len = utf8_sequence(text_, pos_);
                if (len == 0) error("invalid UTF-8 in string");
                out.append(text_, pos_, len);
                pos_ += len;
            }
        }
    }

    Json number() {
        const size_t start = pos_;
        auto digits = [&] {
            size_t from = pos_;
            while (!at_end() && peek() >= '0' && peek() <= '9') ++pos_;
            return pos_ - from;
        };
        if (peek() == '-') ++pos_;
        if (!at_end() && peek() == '0') ++pos_;
        else if (digits() == 0) error("invalid number");
        bool integral = true;
        if (!at_end() && peek() == '.') {
            ++pos_;
            integral = false;
            if (digits() == 0) error("invalid number: no digits after '.'");
        }
        if (!at_end() && (peek() == 'e' || peek() == 'E')) {
            ++pos_;
            integral = false;
            if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
            if (digits() == 0) error("invalid number: no digits in the exponent");
        }
        const char* first = text_.data() + start;
        const char* last = text_.data() + pos_;
        Json v;
        v.type = Json::Type::number;
        if (std::from_chars(first, last, v.number).ec != std::errc())
            error("number out of range");
        if (integral) v.integral = std::from_chars(first, last, v.integer).ec == std::errc();
        return v;
    }

    std::string_view text_;
    const std::string& source_;
    int max_depth_;
    size_t pos_ = 0;
};

}  // namespace

Json parse_json(std::string_view text, const std::string& source, int max_depth) {
    return Parser(text, source, max_depth).document();
}

Json read_json_file(const std::string& path, int max_depth) {
    std::string bytes;
    if (!files::read(path, bytes)) fail(path, ": cannot open");
    return parse_json(bytes, path, max_depth);
}

}  // namespace lm
