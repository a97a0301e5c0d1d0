#include "weights/metadata.h"

#include <cmath>

#include "weights/error.h"

namespace lm {

const char* value_type_name(ValueType t) {
    static const char* names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                  "bool", "string", "array", "u64", "i64", "f64"};
    auto i = static_cast<uint32_t>(t);
    return i < 13 ? names[i] : "?";
}

bool is_integer(ValueType t) {
    switch (t) {
        case ValueType::U8: case ValueType::I8: case ValueType::U16: case ValueType::I16:
        case ValueType::U32: case ValueType::I32: case ValueType::U64: case ValueType::I64:
        case ValueType::BOOL:
            return true;
        default:
            return false;
    }
}

bool is_float(ValueType t) { return t == ValueType::F32 || t == ValueType::F64; }

size_t Value::size() const {
    if (type != ValueType::ARRAY) return 0;
    return ints.size() + floats.size() + strs.size() + arrays.size();
}

Value Value::of_strings(std::vector<std::string> v) {
    Value x;
    x.type = ValueType::ARRAY;
    x.elem = ValueType::STRING;
    x.strs = std::move(v);
    return x;
}

Value Value::of_floats(ValueType elem, std::vector<double> v) {
    Value x;
    x.type = ValueType::ARRAY;
    x.elem = elem;
    x.floats = std::move(v);
    return x;
}

Value Value::of_ints(ValueType elem, std::vector<int64_t> v) {
    Value x;
    x.type = ValueType::ARRAY;
    x.elem = elem;
    x.ints = std::move(v);
    return x;
}

const Value* Metadata::find(std::string_view key) const {
    for (const auto& [k, v] : entries)
        if (k == key) return &v;
    return nullptr;
}

void Metadata::set(const std::string& key, Value v) {
    for (auto& [k, old] : entries) {
        if (k == key) {
            old = std::move(v);
            return;
        }
    }
    entries.emplace_back(key, std::move(v));
}

namespace {
const Value& require(const Metadata& m, std::string_view key) {
    const Value* v = m.find(key);
    if (!v) fail(m.source, ": missing metadata key ", key);
    return *v;
}

[[noreturn]] void wrong_type(const Metadata& m, std::string_view key, const Value& v, const char* want) {
    fail(m.source, ": metadata key ", key, " has type ", value_type_name(v.type), ", expected ", want);
}

int64_t as_int(const Metadata& m, std::string_view key, const Value& v) {
    if (is_integer(v.type)) return v.i;
    // Some converters store integral hyperparameters as floats; accept exact integers.
    if (is_float(v.type) && std::floor(v.f) == v.f && std::fabs(v.f) < 9e15) return static_cast<int64_t>(v.f);
    wrong_type(m, key, v, "an integer");
}

double as_float(const Metadata& m, std::string_view key, const Value& v) {
    if (is_float(v.type)) return v.f;
    if (is_integer(v.type)) return static_cast<double>(v.i);
    wrong_type(m, key, v, "a number");
}

const Value* find_array(const Metadata& m, std::string_view key, bool ok(ValueType), const char* want) {
    const Value* v = m.find(key);
    if (!v) return nullptr;
    if (v->type != ValueType::ARRAY || !ok(v->elem)) wrong_type(m, key, *v, want);
    return v;
}
}  // namespace

int64_t Metadata::get_int(std::string_view key) const { return as_int(*this, key, require(*this, key)); }

int64_t Metadata::get_int(std::string_view key, int64_t fallback) const {
    const Value* v = find(key);
    return v ? as_int(*this, key, *v) : fallback;
}

double Metadata::get_float(std::string_view key) const { return as_float(*this, key, require(*this, key)); }

double Metadata::get_float(std::string_view key, double fallback) const {
    const Value* v = find(key);
    return v ? as_float(*this, key, *v) : fallback;
}

bool Metadata::get_bool(std::string_view key, bool fallback) const {
    const Value* v = find(key);
    if (!v) return fallback;
    if (!is_integer(v->type)) wrong_type(*this, key, *v, "a bool");
    return v->i != 0;
}

std::string Metadata::get_string(std::string_view key) const {
    const Value& v = require(*this, key);
    if (v.type != ValueType::STRING) wrong_type(*this, key, v, "a string");
    return v.str;
}

std::string Metadata::get_string(std::string_view key, const std::string& fallback) const {
    return has(key) ? get_string(key) : fallback;
}

const std::vector<std::string>* Metadata::get_strings(std::string_view key) const {
    const Value* v = find_array(*this, key, [](ValueType t) { return t == ValueType::STRING; }, "an array of strings");
    return v ? &v->strs : nullptr;
}

const std::vector<double>* Metadata::get_floats(std::string_view key) const {
    const Value* v = find_array(*this, key, is_float, "an array of floats");
    return v ? &v->floats : nullptr;
}

const std::vector<int64_t>* Metadata::get_ints(std::string_view key) const {
    const Value* v = find_array(*this, key, is_integer, "an array of integers");
    return v ? &v->ints : nullptr;
}

std::string format_value(const Value& v) {
    switch (v.type) {
        case ValueType::STRING:
            return concat('"', v.str.size() > 80 ? v.str.substr(0, 77) + "..." : v.str, '"');
        case ValueType::BOOL:
            return v.i ? "true" : "false";
        case ValueType::F32: case ValueType::F64:
            return concat(v.f);
        case ValueType::ARRAY: {
            std::string out = concat("[", value_type_name(v.elem), " x ", v.size(), "] ");
            const size_t shown = std::min<size_t>(v.size(), 6);
            for (size_t i = 0; i < shown; ++i) {
                if (i) out += ", ";
                if (!v.strs.empty()) out += concat('"', v.strs[i], '"');
                else if (!v.ints.empty()) out += concat(v.ints[i]);
                else if (!v.floats.empty()) out += concat(v.floats[i]);
                else out += format_value(v.arrays[i]);
            }
            if (shown < v.size()) out += ", ...";
            return out;
        }
        default:
            return concat(v.i);
    }
}

void set_hyperparameters(Metadata& m, const Hyperparameters& h) {
    const std::string& a = h.arch;
    auto u32 = [&](const std::string& key, int64_t v) { m.set(a + key, Value::of_int(ValueType::U32, v)); };
    m.set("general.architecture", Value::of_string(a));
    u32(".context_length", h.context);
    u32(".embedding_length", h.dim);
    u32(".feed_forward_length", h.hidden);
    u32(".block_count", h.layers);
    u32(".attention.head_count", h.heads);
    if (h.kv_heads) u32(".attention.head_count_kv", *h.kv_heads);
    if (h.vocab) u32(".vocab_size", *h.vocab);
    const bool rms = a == "llama" || a == "qwen2" || a == "phi3" || a == "gemma2";
    m.set(a + (rms ? ".attention.layer_norm_rms_epsilon" : ".attention.layer_norm_epsilon"),
          Value::of_float(ValueType::F32, h.norm_eps));
    if (h.rope_base) m.set(a + ".rope.freq_base", Value::of_float(ValueType::F32, *h.rope_base));
    if (h.rope_dimensions) u32(".rope.dimension_count", *h.rope_dimensions);
}

}  // namespace lm
