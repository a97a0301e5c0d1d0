// GGUF bytes built by hand, field by field, so a test can make any field lie.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "weights/gguf.h"

namespace lm::testing {

struct GgufBytes {
    std::string b;
    template <typename T>
    GgufBytes& put(T v) {
        b.append(reinterpret_cast<const char*>(&v), sizeof v);
        return *this;
    }
    GgufBytes& raw(const std::string& s) {
        b += s;
        return *this;
    }
    GgufBytes& str(const std::string& s) { return put<uint64_t>(s.size()).raw(s); }
    // Magic, version 3 and the two counts.
    GgufBytes& header(uint64_t n_tensors, uint64_t n_kv) {
        return put<uint32_t>(kGgufMagic).put<uint32_t>(3).put<uint64_t>(n_tensors).put<uint64_t>(n_kv);
    }
    GgufBytes& kv_u32(const std::string& key, uint32_t v) { return str(key).put<uint32_t>(4).put<uint32_t>(v); }
    // Tensor info: name, dims, type, offset.
    GgufBytes& tensor(const std::string& name, const std::vector<uint64_t>& ne, uint32_t type = 0,
                      uint64_t offset = 0) {
        str(name).put<uint32_t>(static_cast<uint32_t>(ne.size()));
        for (uint64_t n : ne) put<uint64_t>(n);
        return put<uint32_t>(type).put<uint64_t>(offset);
    }
    // Pads to the default 32-byte alignment, then `bytes` zero bytes of tensor data.
    GgufBytes& data(size_t bytes) {
        while (b.size() % 32) b += '\0';
        b.append(bytes, '\0');
        return *this;
    }
    void save(const std::string& path) const { std::ofstream(path, std::ios::binary) << b; }
};

}  // namespace lm::testing
