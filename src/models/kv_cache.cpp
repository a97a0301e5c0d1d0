#include "src/models/kv_cache.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "simd/attention.h"
#include "weights/error.h"
#include "weights/limits.h"
#include "weights/quant.h"

namespace lm {

namespace {
constexpr int kQueryBlock = 16;  // prompt queries per attend_block call

bool is_kv_type(DType t) { return t == DType::F16 || t == DType::Q8_0 || t == DType::Q4_0; }
}  // namespace

void check_kv_type(DType type, int head_dim, const char* flag) {
    if (!is_kv_type(type)) fail(flag, ": a KV cache holds f16, q8_0 or q4_0, not ", dtype_name(type));
    const int block = info(type).block_size;
    if (head_dim % block != 0)
        fail(flag, ": ", dtype_name(type), " needs heads of whole ", block, "-element blocks; this model's heads have ",
             head_dim, " elements (use f16)");
}

DType kv_type_named(const std::string& name, const char* flag) {
    for (DType t : {DType::F16, DType::Q8_0, DType::Q4_0})
        if (name == dtype_name(t)) return t;
    fail(flag, ": '", name, "' is not a cache type (f16, q8_0, q4_0)");
}

KvCache::KvCache(int n_layers, int context, int kv_dim, int head_dim, DType k_type, DType v_type)
    : context_(context), kv_dim_(kv_dim), k_type_(k_type), v_type_(v_type) {
    check_kv_type(k_type, head_dim, "-ctk");
    check_kv_type(v_type, head_dim, "-ctv");
    k_row_ = row_bytes(k_type, kv_dim);
    v_row_ = row_bytes(v_type, kv_dim);
    // A context the model allows may still need more memory than the machine has (the default
    // is the model's own context): refuse before allocating rather than be killed mid-way.
    const uint64_t rows = checked_mul(n_layers, context, "KV cache");
    const uint64_t bytes = checked_add(checked_mul(rows, k_row_, "KV cache"), checked_mul(rows, v_row_, "KV cache"),
                                       "KV cache");
    limits::check_fits_in_memory(bytes, concat("a KV cache for a context of ", context), ": pass a smaller context (-c)");
    keys_.resize(rows * k_row_);
    values_.resize(rows * v_row_);
}

void KvCache::store(int layer, int pos, int n, const float* k, const float* v, size_t stride) {
    for (int i = 0; i < n; ++i) {
        const size_t row = static_cast<size_t>(layer) * context_ + pos + i;
        store_kv_row(k + i * stride, k_type_, &keys_[row * k_row_], kv_dim_);
        store_kv_row(v + i * stride, v_type_, &values_[row * v_row_], kv_dim_);
    }
}

void KvCache::attend(float* out, size_t out_stride, const float* q, size_t q_stride, int layer, int n, int pos,
                     int n_heads, int head_dim, int threads, float scale, float softcap) {
    const int group = n_heads / (kv_dim_ / head_dim);
    if (n <= 0) return;
    if (scale == 0) scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    const size_t layer_row = static_cast<size_t>(layer) * context_;
    threads = std::max(1, threads);
    // Small problems stay on one thread: waking the team costs more than they do.
    const int64_t work = static_cast<int64_t>(n) * n_heads * (pos + n) * head_dim;
    const int team = work > (1 << 15) ? threads : 1;
    // A prompt's queries go 16 at a time (attend_block mixes several queries per value row),
    // decode's one at a time. Dealt out one (block, head) at a time: later blocks attend to more
    // keys, so contiguous shares would leave the first threads idle.
    const int block = std::min(n, kQueryBlock), blocks = (n + block - 1) / block;
    const size_t per_thread = attend_block_scratch(block, context_, head_dim);
    if (scratch_.size() < team * per_thread) scratch_.resize(team * per_thread);  // once per block size, not per token
    const KvView view{nullptr, k_type_, k_row_, nullptr, v_type_, v_row_, softcap};
#pragma omp parallel for collapse(2) num_threads(team) schedule(static, 1)
    for (int b = 0; b < blocks; ++b) {
        for (int h = 0; h < n_heads; ++h) {
            const int i = b * block;
            const size_t kv_col = static_cast<size_t>(h / group) * head_dim;  // the head's first element in a row
            KvView v = view;
            v.keys = &keys_[layer_row * k_row_ + row_bytes(k_type_, kv_col)];
            v.values = &values_[layer_row * v_row_ + row_bytes(v_type_, kv_col)];
            attend_block(out + i * out_stride + h * head_dim, out_stride, q + i * q_stride + h * head_dim, q_stride,
                         std::min(block, n - i), v, pos + i + 1, head_dim, scale,
                         &scratch_[omp_get_thread_num() * per_thread]);
        }
    }
}

}  // namespace lm
