// Typed key/value metadata as GGUF stores it. llama2.c files are described with the same
// keys a GGUF would carry, so everything after loading reads one kind of metadata.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lm {

// GGUF value type ids (GGUF spec, gguf_metadata_value_type).
enum class ValueType : uint32_t {
    U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6,
    BOOL = 7, STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* value_type_name(ValueType t);
bool is_integer(ValueType t);  // every integer type and bool
bool is_float(ValueType t);

struct Value {
    ValueType type = ValueType::U8;
    int64_t i = 0;    // integer and bool scalars (U64 stored bit-for-bit)
    double f = 0;     // F32/F64 scalars
    std::string str;  // STRING
    // ARRAY: elements of type `elem` in exactly one of these.
    ValueType elem = ValueType::U8;
    std::vector<int64_t> ints;
    std::vector<double> floats;
    std::vector<std::string> strs;
    std::vector<Value> arrays;  // arrays of arrays

    size_t size() const;  // array length

    static Value of_int(ValueType t, int64_t v) { Value x; x.type = t; x.i = v; return x; }
    static Value of_float(ValueType t, double v) { Value x; x.type = t; x.f = v; return x; }
    static Value of_bool(bool v) { return of_int(ValueType::BOOL, v); }
    static Value of_string(std::string s) { Value x; x.type = ValueType::STRING; x.str = std::move(s); return x; }
    static Value of_strings(std::vector<std::string> v);
    static Value of_floats(ValueType elem, std::vector<double> v);
    static Value of_ints(ValueType elem, std::vector<int64_t> v);
};

class Metadata {
public:
    std::vector<std::pair<std::string, Value>> entries;  // in file order

    const Value* find(std::string_view key) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }
    void set(const std::string& key, Value v);  // replaces an existing key

    // Typed getters; the ones without a fallback throw "missing metadata key KEY" and all
    // throw when the stored type does not fit.
    int64_t get_int(std::string_view key) const;
    int64_t get_int(std::string_view key, int64_t fallback) const;
    double get_float(std::string_view key) const;
    double get_float(std::string_view key, double fallback) const;
    bool get_bool(std::string_view key, bool fallback) const;
    std::string get_string(std::string_view key) const;
    std::string get_string(std::string_view key, const std::string& fallback) const;
    // Arrays (nullptr when absent; throws when present with another element type).
    const std::vector<std::string>* get_strings(std::string_view key) const;
    const std::vector<double>* get_floats(std::string_view key) const;
    const std::vector<int64_t>* get_ints(std::string_view key) const;

    std::string source;  // file name, for error messages
};

// A transformer's shape as the GGUF keys llama.cpp reads (general.architecture and ARCH.*):
// every writer of a GGUF (the converters, lm init, lm train) sets them through
// set_hyperparameters, so the key names and types live in one place. The optional ones are
// written when given; the others always (a 0 read from a bad input stays visible to the
// reader's checks).
struct Hyperparameters {
    std::string arch;  // llama, gpt2, bert
    int64_t context = 0, dim = 0, hidden = 0, layers = 0, heads = 0;
    std::optional<int64_t> kv_heads = std::nullopt, vocab = std::nullopt;
    double norm_eps = 0;  // ARCH.attention.layer_norm_rms_epsilon (llama) or .layer_norm_epsilon
    std::optional<double> rope_base = std::nullopt;         // ARCH.rope.freq_base
    std::optional<int64_t> rope_dimensions = std::nullopt;  // ARCH.rope.dimension_count
};
void set_hyperparameters(Metadata& m, const Hyperparameters& h);

// One line per value for `lm info`; long arrays are summarized.
std::string format_value(const Value& v);

}  // namespace lm
