// A decoder's key/value cache, stored in f16 as llama.cpp keeps it by default (half the
// memory of f32), and causal attention over it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lm {

class KvCache {
public:
    KvCache() = default;
    KvCache(int n_layers, int context, int kv_dim);

    // Keys and values of n tokens (rows `stride` floats apart) at positions pos..pos+n.
    void store(int layer, int pos, int n, const float* k, const float* v, size_t stride);
    // Causal attention of n query rows at positions pos..pos+n (`q_stride` floats apart,
    // n_heads heads of head_dim each; heads share kv heads in groups) over positions 0..pos+i;
    // output rows `out_stride` floats apart.
    void attend(float* out, size_t out_stride, const float* q, size_t q_stride, int layer, int n, int pos, int n_heads,
                int head_dim, int threads);

private:
    int context_ = 0, kv_dim_ = 0;
    std::vector<uint16_t> keys_, values_;  // [layer][context][kv_dim]
    std::vector<float> scratch_;           // per thread: scores and q
};

}  // namespace lm
