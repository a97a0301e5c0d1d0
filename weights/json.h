// A small, bounds-checked JSON reader (RFC 8259) for the files models come with:
// safetensors headers, config.json, tokenizer vocabularies. Parses into a plain tree.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weights/limits.h"

namespace lm {

struct JsonMember;

struct Json {
    enum class Type { null, boolean, number, string, array, object };

    Type type = Type::null;
    bool boolean = false;
    double number = 0;
    int64_t integer = 0;    // the exact value when `integral`
    bool integral = false;  // a number written without fraction or exponent that fits int64
    std::string str;
    std::vector<Json> items;                            // array elements
    std::vector<JsonMember> members;  // object members, in file order

    bool is_null() const { return type == Type::null; }
    bool is_bool() const { return type == Type::boolean; }
    bool is_number() const { return type == Type::number; }
    bool is_string() const { return type == Type::string; }
    bool is_array() const { return type == Type::array; }
    bool is_object() const { return type == Type::object; }

    const Json* find(std::string_view key) const;  // object member or nullptr
};

// A struct rather than std::pair: a pair holding the still-incomplete Json does not compile
// with every standard library. Works with structured bindings: auto& [key, value].
struct JsonMember {
    std::string key;
    Json value;
};

const char* json_type_name(Json::Type t);

// Parses one JSON value (surrounded by optional whitespace). Throws lm::Error
// "SOURCE: JSON error at line L, column C: WHAT" for malformed input, nesting deeper than
// max_depth, duplicate object keys, lone UTF-16 surrogates or invalid UTF-8.
Json parse_json(std::string_view text, const std::string& source, int max_depth = limits::kMaxJsonDepth);

// Reads and parses a whole file; errors name the file.
Json read_json_file(const std::string& path, int max_depth = limits::kMaxJsonDepth);

}  // namespace lm
