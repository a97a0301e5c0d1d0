#include "src/kv_cache.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "simd/attention.h"
#include "weights/error.h"
#include "weights/limits.h"

namespace lm {

namespace {
constexpr int kQueryBlock = 16;  // prompt queries per attend_block call

// A context the model allows may still need more memory than the machine has (the default
// is the model's own context): refuse before allocating rather than be killed mid-way.
size_t checked_cache_elements(int n_layers, int context, int kv_dim) {
    const uint64_t elements = checked_mul(checked_mul(n_layers, context, "KV cache"), kv_dim, "KV cache");
    limits::check_fits_in_memory(checked_mul(elements, 2 * sizeof(uint16_t), "KV cache"),  // keys and values
                                 concat("a KV cache for a context of ", context), ": pass a smaller context (-c)");
    return static_cast<size_t>(elements);
}
}  // namespace

KvCache::KvCache(int n_layers, int context, int kv_dim)
    : context_(context),
      kv_dim_(kv_dim),
      keys_(checked_cache_elements(n_layers, context, kv_dim)),
      values_(keys_.size()) {}

void KvCache::store(int layer, int pos, int n, const float* k, const float* v, size_t stride) {
    for (int i = 0; i < n; ++i) {
        const size_t at = (static_cast<size_t>(layer) * context_ + pos + i) * kv_dim_;
        to_f16(k + i * stride, &keys_[at], kv_dim_);
        to_f16(v + i * stride, &values_[at], kv_dim_);
    }
}

void KvCache::attend(float* out, size_t out_stride, const float* q, size_t q_stride, int layer, int n, int pos,
                     int n_heads, int head_dim, int threads) {
    const int group = n_heads / (kv_dim_ / head_dim);
    if (n <= 0) return;
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    const size_t layer_at = static_cast<size_t>(layer) * context_ * kv_dim_;
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
#pragma omp parallel for collapse(2) num_threads(team) schedule(static, 1)
    for (int b = 0; b < blocks; ++b) {
        for (int h = 0; h < n_heads; ++h) {
            const int i = b * block;
            const size_t kv_at = layer_at + (h / group) * head_dim;
            attend_block(out + i * out_stride + h * head_dim, out_stride, q + i * q_stride + h * head_dim, q_stride,
                         std::min(block, n - i), &keys_[kv_at], &values_[kv_at], kv_dim_, pos + i + 1, head_dim, scale,
                         &scratch_[omp_get_thread_num() * per_thread]);
        }
    }
}

}  // namespace lm
