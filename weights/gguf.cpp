#include "weights/gguf.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "weights/error.h"
#include "weights/files.h"
#include "weights/limits.h"

namespace lm {

namespace {

using namespace limits;

// A bounds-checked reader over the mapped bytes.
struct Cursor {
    const uint8_t* data;
    size_t size;
    size_t pos = 0;
    const std::string& path;

    size_t remaining() const { return size - pos; }
    void need(uint64_t n, const char* what) const {
        if (n > remaining()) fail(path, ": truncated file: ", what, " runs past the end (offset ", pos, ")");
    }
    template <typename T>
    T read(const char* what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, data + pos, sizeof(T));
        pos += sizeof(T);
        return v;
    }
    std::string read_string(const char* what, uint64_t limit = kMaxStringBytes) {
        uint64_t len = read<uint64_t>(what);
        if (len > limit) fail(path, ": ", what, " length ", len, " exceeds the limit of ", limit);
        need(len, what);
        std::string s(reinterpret_cast<const char*>(data + pos), len);
        pos += len;
        return s;
    }
};

size_t scalar_size(ValueType t) {
    switch (t) {
        case ValueType::U8: case ValueType::I8: case ValueType::BOOL: return 1;
        case ValueType::U16: case ValueType::I16: return 2;
        case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
        case ValueType::U64: case ValueType::I64: case ValueType::F64: return 8;
        case ValueType::STRING: return 8;  // at least the length field
        case ValueType::ARRAY: return 12;  // at least type + count
    }
    return 0;
}

bool valid_value_type(uint32_t t) { return t <= 12; }

int64_t read_int(Cursor& c, ValueType t) {
    switch (t) {
        case ValueType::U8: return c.read<uint8_t>("value");
        case ValueType::I8: return c.read<int8_t>("value");
        case ValueType::U16: return c.read<uint16_t>("value");
        case ValueType::I16: return c.read<int16_t>("value");
        case ValueType::U32: return c.read<uint32_t>("value");
        case ValueType::I32: return c.read<int32_t>("value");
        case ValueType::U64: return static_cast<int64_t>(c.read<uint64_t>("value"));
        case ValueType::I64: return c.read<int64_t>("value");
        case ValueType::BOOL: {
            uint8_t b = c.read<uint8_t>("value");
            if (b > 1) fail(c.path, ": invalid bool value ", int(b));
            return b;
        }
        default: return 0;
    }
}

double read_float(Cursor& c, ValueType t) {
    return t == ValueType::F32 ? c.read<float>("value") : c.read<double>("value");
}

Value read_value(Cursor& c, ValueType type, const std::string& key, int depth);

Value read_array(Cursor& c, const std::string& key, int depth) {
    if (depth >= kMaxArrayDepth) fail(c.path, ": metadata ", key, ": arrays nested too deeply");
    uint32_t et = c.read<uint32_t>("array type");
    if (!valid_value_type(et)) fail(c.path, ": metadata ", key, ": unknown array element type ", et);
    Value v;
    v.type = ValueType::ARRAY;
    v.elem = static_cast<ValueType>(et);
    uint64_t count = c.read<uint64_t>("array length");
    // Check the claim against the limit and the bytes left before reserving anything.
    if (count > kMaxArrayLength)
        fail(c.path, ": metadata ", key, ": array length ", count, " exceeds the limit of ", kMaxArrayLength);
    if (count > c.remaining() / scalar_size(v.elem))
        fail(c.path, ": metadata ", key, ": array length ", count, " exceeds the file size");
    if (is_integer(v.elem)) {
        v.ints.reserve(count);
        for (uint64_t i = 0; i < count; ++i) v.ints.push_back(read_int(c, v.elem));
    } else if (is_float(v.elem)) {
        v.floats.reserve(count);
        for (uint64_t i = 0; i < count; ++i) v.floats.push_back(read_float(c, v.elem));
    } else if (v.elem == ValueType::STRING) {
        v.strs.reserve(count);
        for (uint64_t i = 0; i < count; ++i) v.strs.push_back(c.read_string("string"));
    } else {
        for (uint64_t i = 0; i < count; ++i) v.arrays.push_back(read_array(c, key, depth + 1));
    }
    return v;
}

Value read_value(Cursor& c, ValueType type, const std::string& key, int depth) {
    if (type == ValueType::ARRAY) return read_array(c, key, depth);
    if (type == ValueType::STRING) return Value::of_string(c.read_string("string"));
    if (is_float(type)) return Value::of_float(type, read_float(c, type));
    return Value::of_int(type, read_int(c, type));
}

Tensor read_tensor_info(Cursor& c) {
    Tensor t;
    t.name = c.read_string("tensor name", kMaxNameBytes);
    uint32_t n_dims = c.read<uint32_t>("tensor dims");
    if (n_dims < 1 || n_dims > kMaxDims)
        fail(c.path, ": tensor ", t.name, " has ", n_dims, " dimensions (1 to ", kMaxDims, " allowed)");
    t.n_dims = static_cast<int>(n_dims);
    uint64_t count = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
        uint64_t ne = c.read<uint64_t>("tensor shape");
        if (ne == 0 || ne > kMaxTensorElements) fail(c.path, ": tensor ", t.name, " has invalid dimension ", ne);
        t.ne[d] = static_cast<int64_t>(ne);
        count = checked_mul(count, ne, "tensor element count");
    }
    if (count > kMaxTensorElements) fail(c.path, ": tensor ", t.name, " has too many elements");
    uint32_t type = c.read<uint32_t>("tensor type");
    const DTypeInfo* info = dtype_info(type);
    if (!info) fail(c.path, ": tensor ", t.name, " has unknown type ", type);
    t.type = static_cast<DType>(type);
    if (t.ne[0] % info->block_size != 0)
        fail(c.path, ": tensor ", t.name, " row length ", t.ne[0], " is not a multiple of the ", info->name,
             " block size ", info->block_size);
    t.nbytes = static_cast<size_t>(count / info->block_size * info->block_bytes);
    // The offset is kept in `data` until the data section's start is known.
    t.data = reinterpret_cast<const void*>(static_cast<uintptr_t>(c.read<uint64_t>("tensor offset")));
    return t;
}

}  // namespace

ModelFile read_gguf(std::shared_ptr<const MappedFile> mapping) {
    const std::string& path = mapping->path();
    Cursor c{mapping->data(), mapping->size(), 0, path};
    if (c.size < 4 || c.read<uint32_t>("magic") != kGgufMagic) fail(path, ": not a GGUF file (wrong magic)");
    uint32_t version = c.read<uint32_t>("header");
    if (version < 2 || version > 3) fail(path, ": unsupported GGUF version ", version, " (2 and 3 are supported)");
    uint64_t n_tensors = c.read<uint64_t>("header");
    uint64_t n_kv = c.read<uint64_t>("header");
    if (n_kv > kMaxMetadataEntries) fail(path, ": metadata count ", n_kv, " exceeds the limit of ", kMaxMetadataEntries);
    if (n_tensors > kMaxTensors) fail(path, ": tensor count ", n_tensors, " exceeds the limit of ", kMaxTensors);
    // Each key/value takes at least 13 bytes and each tensor info at least 32.
    if (n_kv > c.remaining() / 13) fail(path, ": truncated or corrupt file: metadata count ", n_kv, " exceeds the file size");
    if (n_tensors > c.remaining() / 32) fail(path, ": truncated or corrupt file: tensor count ", n_tensors, " exceeds the file size");

    ModelFile file;
    file.path = path;
    file.format = "gguf";
    file.meta.source = path;
    std::unordered_set<std::string> keys;
    for (uint64_t i = 0; i < n_kv; ++i) {
        std::string key = c.read_string("metadata key", kMaxNameBytes);
        uint32_t type = c.read<uint32_t>("metadata type");
        if (!valid_value_type(type)) fail(path, ": metadata key ", key, " has unknown value type ", type);
        if (!keys.insert(key).second) fail(path, ": duplicate metadata key ", key);
        file.meta.entries.emplace_back(key, read_value(c, static_cast<ValueType>(type), key, 0));
    }

    int64_t alignment = file.meta.get_int("general.alignment", kGgufDefaultAlignment);
    // The spec asks for a multiple of 8; less would leave f32 tensors misaligned in memory.
    if (alignment < 8 || alignment > (1 << 20) || (alignment & (alignment - 1)))
        fail(path, ": general.alignment ", alignment, " is not a power of two from 8 to 2^20");

    std::unordered_set<std::string> names;
    for (uint64_t i = 0; i < n_tensors; ++i) {
        file.tensors.push_back(read_tensor_info(c));
        if (!names.insert(file.tensors.back().name).second)
            fail(path, ": duplicate tensor name ", file.tensors.back().name);
    }

    const uint64_t data_start = (c.pos + alignment - 1) / alignment * alignment;
    const uint64_t data_size = data_start <= c.size ? c.size - data_start : 0;
    if (n_tensors > 0 && data_start > c.size) fail(path, ": truncated file: no tensor data");
    for (Tensor& t : file.tensors) {
        const uint64_t offset = reinterpret_cast<uintptr_t>(t.data);
        if (offset % alignment) fail(path, ": tensor ", t.name, " offset ", offset, " is not aligned to ", alignment);
        if (offset > data_size || t.nbytes > data_size - offset)
            fail(path, ": tensor ", t.name, " data (offset ", offset, ", ", t.nbytes,
                 " bytes) runs past the end of the file (truncated?)");
        t.data = mapping->data() + data_start + offset;
    }
    file.mapping = std::move(mapping);
    return file;
}

namespace {

struct Writer {
    std::FILE* f;
    const std::string& path;
    uint64_t written = 0;

    void bytes(const void* p, size_t n) {
        if (n && std::fwrite(p, 1, n, f) != n) fail(path, ": write failed: ", std::strerror(errno));
        written += n;
    }
    template <typename T>
    void put(T v) { bytes(&v, sizeof v); }
    void str(const std::string& s) {
        put<uint64_t>(s.size());
        bytes(s.data(), s.size());
    }
    void scalar(ValueType t, int64_t i, double f) {
        switch (t) {
            case ValueType::U8: case ValueType::I8: case ValueType::BOOL: put<uint8_t>(static_cast<uint8_t>(i)); break;
            case ValueType::U16: case ValueType::I16: put<uint16_t>(static_cast<uint16_t>(i)); break;
            case ValueType::U32: case ValueType::I32: put<uint32_t>(static_cast<uint32_t>(i)); break;
            case ValueType::U64: case ValueType::I64: put<int64_t>(i); break;
            case ValueType::F32: put<float>(static_cast<float>(f)); break;
            case ValueType::F64: put<double>(f); break;
            default: break;
        }
    }
    void value(const Value& v) {
        if (v.type == ValueType::STRING) return str(v.str);
        if (v.type != ValueType::ARRAY) return scalar(v.type, v.i, v.f);
        put<uint32_t>(static_cast<uint32_t>(v.elem));
        put<uint64_t>(v.size());
        for (int64_t i : v.ints) scalar(v.elem, i, 0);
        for (double x : v.floats) scalar(v.elem, 0, x);
        for (const std::string& s : v.strs) str(s);
        for (const Value& a : v.arrays) value(a);
    }
    void pad_to(uint64_t alignment) {
        static const uint8_t zeros[64] = {};
        while (written % alignment) bytes(zeros, std::min<uint64_t>(64, alignment - written % alignment));
    }
};

}  // namespace

void add_llama_cpp_requirements(Metadata& meta, std::vector<Tensor>& tensors) {
    const std::string arch = meta.has("general.architecture") ? meta.get_string("general.architecture") : "";
    auto find = [&](const char* name) -> const Tensor* {
        for (const Tensor& t : tensors)
            if (t.name == name) return &t;
        return nullptr;
    };
    if (arch == "gpt2" && !find("output.weight")) {
        if (const Tensor* embd = find("token_embd.weight")) {
            Tensor output = *embd;
            output.name = "output.weight";
            tensors.push_back(output);
        }
    }
    if (arch == "bert" && !meta.has("tokenizer.ggml.token_type_count")) {
        if (const Tensor* types = find("token_types.weight"))
            meta.set("tokenizer.ggml.token_type_count", Value::of_int(ValueType::U32, types->rows()));
    }
}

void write_gguf(const std::string& path, const Metadata& meta, const std::vector<Tensor>& tensors) {
    const uint64_t alignment = static_cast<uint64_t>(meta.get_int("general.alignment", kGgufDefaultAlignment));
    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) fail(path, ": cannot write: ", std::strerror(errno));
    try {
        Writer w{f, path};
        w.put<uint32_t>(kGgufMagic);
        w.put<uint32_t>(3);
        w.put<uint64_t>(tensors.size());
        w.put<uint64_t>(meta.entries.size());
        for (const auto& [key, v] : meta.entries) {
            w.str(key);
            w.put<uint32_t>(static_cast<uint32_t>(v.type));
            w.value(v);
        }
        uint64_t offset = 0;
        for (const Tensor& t : tensors) {
            w.str(t.name);
            w.put<uint32_t>(static_cast<uint32_t>(t.n_dims));
            for (int d = 0; d < t.n_dims; ++d) w.put<uint64_t>(static_cast<uint64_t>(t.ne[d]));
            w.put<uint32_t>(static_cast<uint32_t>(t.type));
            w.put<uint64_t>(offset);
            offset = (offset + t.nbytes + alignment - 1) / alignment * alignment;
        }
        w.pad_to(alignment);
        for (const Tensor& t : tensors) {
            w.bytes(t.data, t.nbytes);
            w.pad_to(alignment);
        }
        // On disk before it replaces `path`: after a crash either the old file or the new one is there.
        if (std::fflush(f) != 0 || ::fsync(fileno(f)) != 0) fail(path, ": write failed: ", std::strerror(errno));
    } catch (...) {
        std::fclose(f);
        std::remove(tmp.c_str());
        throw;
    }
    if (std::fclose(f) != 0) {
        const int error = errno;
        std::remove(tmp.c_str());
        fail(path, ": write failed: ", std::strerror(error));
    }
    if (const std::string error = files::rename(tmp, path); !error.empty()) {
        std::remove(tmp.c_str());
        fail(path, ": cannot rename temporary file: ", error);
    }
}

}  // namespace lm
