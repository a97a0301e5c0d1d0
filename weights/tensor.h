// A tensor view: no ownership, no virtual methods. ne[0] is the contiguous dimension
// (ggml order), so a weight matrix of `rows` outputs by `cols` inputs has ne = {cols, rows}.
#pragma once
#include <cstdint>
#include <string>

#include "weights/dtype.h"

namespace lm {

struct Tensor {
    std::string name;
    DType type = DType::F32;
    int n_dims = 0;
    int64_t ne[4] = {1, 1, 1, 1};
    const void* data = nullptr;  // into the mapped file, or into a buffer someone else owns
    size_t nbytes = 0;
    const void* packed = nullptr;  // optional 16-row interleaved copy for decode (simd/repack.h)

    int64_t cols() const { return ne[0]; }
    int64_t rows() const { return ne[1] * ne[2] * ne[3]; }
    int64_t count() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
    size_t row_size() const { return row_bytes(type, ne[0]); }
    const uint8_t* row(int64_t r) const { return static_cast<const uint8_t*>(data) + r * row_size(); }
    const float* f32() const { return static_cast<const float*>(data); }
};

// "[256, 768]" for messages and `lm info`.
std::string shape_string(const Tensor& t);

}  // namespace lm
