// A decoder's key/value cache and causal attention over it. Keys and values are stored in f16
// by default, as llama.cpp keeps them, or in llama.cpp's q8_0 / q4_0 blocks (-ctk / -ctv):
// half and a quarter of f16's memory (plus the block scales).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "weights/dtype.h"
#include "weights/mmap.h"

namespace lm {

// Throws unless `type` is one a KV cache stores (f16, q8_0, q4_0) and a head of head_dim
// elements is whole blocks of it; `flag` names the option in the message.
void check_kv_type(DType type, int head_dim, const char* flag);
// "f16" -> DType::F16 and so on for the cache types (llama.cpp's -ctk / -ctv names).
DType kv_type_named(const std::string& name, const char* flag);

class KvCache {
public:
    KvCache() = default;
    KvCache(int n_layers, int context, int kv_dim, int head_dim, DType k_type = DType::F16,
            DType v_type = DType::F16);

    // Keys and values of n tokens (rows `stride` floats apart) at positions pos..pos+n.
    void store(int layer, int pos, int n, const float* k, const float* v, size_t stride);
    // Causal attention of n query rows at positions pos..pos+n (`q_stride` floats apart,
    // n_heads heads of head_dim each; heads share kv heads in groups) over positions 0..pos+i;
    // output rows `out_stride` floats apart. scale multiplies q.k (0: 1/sqrt(head_dim));
    // softcap > 0 maps each score s to softcap * tanh(s / softcap) before the softmax (Gemma 2).
    void attend(float* out, size_t out_stride, const float* q, size_t q_stride, int layer, int n, int pos, int n_heads,
                int head_dim, int threads, float scale = 0, float softcap = 0);

private:
    int context_ = 0, kv_dim_ = 0;
    DType k_type_ = DType::F16, v_type_ = DType::F16;
    size_t k_row_ = 0, v_row_ = 0;            // bytes of one position's keys / values
    UntouchedVector<uint8_t> keys_, values_;  // [layer][context][row bytes], written as positions fill
    std::vector<float> scratch_;              // per thread: scores, q and a value row
};

}  // namespace lm
