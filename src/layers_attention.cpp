// Causal multi-head attention with grouped-query heads over packed q|k|v rows (layers.h).
#include <cmath>
#include <cstring>

#include "simd/ops.h"
#include "src/layers.h"
#include "src/layers_target.h"

namespace lm {

// Below this many multiply-adds a call runs on one thread.
static constexpr long ATTENTION_PARALLEL_WORK = 1L << 15;

// Head-size dot product in 16 lanes summed in a fixed order, so the compiler vectorizes it at
// whatever width the clone targets without changing the result (simd/ops dot is the scalar
// reference).
static inline float dot_heads(const float* a, const float* b, int n) {
    float lanes[16] = {};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; ++j) lanes[j] += a[i + j] * b[i + j];
    float sum = 0.0f;
    for (; i < n; ++i) sum += a[i] * b[i];
    for (int j = 0; j < 16; ++j) sum += lanes[j];
    return sum;
}

// att = softmax(q k^T / sqrt(HS)) over keys t2 <= t;  out = att v   (Vaswani et al. eq. 1)
LM_TARGET_CLONES void attention_forward(float* out, float* att, const float* qkv, int B, int T, int NH, int NKV, int HS) {
    const int C3 = (NH + 2 * NKV) * HS, C = NH * HS, group = NH / NKV;
    const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
    const bool parallel = (long)B * NH * T * T * HS > ATTENTION_PARALLEL_WORK;
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < NH; ++h) {
            const float* kbase = qkv + (long)b * T * C3 + C + (h / group) * HS;
            const float* vbase = kbase + NKV * HS;
            for (int t = 0; t < T; ++t) {
                const float* q = qkv + ((long)b * T + t) * C3 + h * HS;
                float* a = att + (((long)b * NH + h) * T + t) * T;
                for (int t2 = 0; t2 <= t; ++t2) a[t2] = dot_heads(q, kbase + (long)t2 * C3, HS) * scale;
                softmax(a, t + 1);
                for (int t2 = t + 1; t2 < T; ++t2) a[t2] = 0.0f;
                float* o = out + ((long)b * T + t) * C + h * HS;
                std::memset(o, 0, sizeof(float) * HS);
                for (int t2 = 0; t2 <= t; ++t2) {
                    const float* v = vbase + (long)t2 * C3;
                    for (int i = 0; i < HS; ++i) o[i] += a[t2] * v[i];
                }
            }
        }
}

// datt = dout v^T, dv += att^T dout; softmax: dpre = att (datt - sum(att datt));
// dq += dpre k / sqrt(HS), dk += dpre^T q / sqrt(HS). One thread owns a (b, kv head) pair and
// so every query head that writes into its dk, dv.
LM_TARGET_CLONES void attention_backward(float* dqkv, float* datt, const float* dout, const float* qkv, const float* att, int B,
                        int T, int NH, int NKV, int HS) {
    const int C3 = (NH + 2 * NKV) * HS, C = NH * HS, group = NH / NKV;
    const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
    const bool parallel = (long)B * NH * T * T * HS > ATTENTION_PARALLEL_WORK;
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
    for (int b = 0; b < B; ++b)
        for (int kvh = 0; kvh < NKV; ++kvh) {
            const long kv_off = (long)b * T * C3 + C + kvh * HS;
            for (int h = kvh * group; h < (kvh + 1) * group; ++h)
                for (int t = 0; t < T; ++t) {
                    const long row = ((long)b * T + t) * C3;
                    const float* q = qkv + row + h * HS;
                    float* dq = dqkv + row + h * HS;
                    const float* dy = dout + ((long)b * T + t) * C + h * HS;
                    const float* a = att + (((long)b * NH + h) * T + t) * T;
                    float* da = datt + (((long)b * NH + h) * T + t) * T;
                    double sum = 0;
                    for (int t2 = 0; t2 <= t; ++t2) {
                        const long kv = kv_off + (long)t2 * C3;
                        da[t2] = dot_heads(dy, qkv + kv + NKV * HS, HS);
                        sum += a[t2] * da[t2];
                        float* dv = dqkv + kv + NKV * HS;
                        for (int i = 0; i < HS; ++i) dv[i] += a[t2] * dy[i];
                    }
                    for (int t2 = 0; t2 <= t; ++t2) {
                        const long kv = kv_off + (long)t2 * C3;
                        const float dpre = a[t2] * (da[t2] - static_cast<float>(sum)) * scale;
                        const float* k = qkv + kv;
                        float* dk = dqkv + kv;
                        for (int i = 0; i < HS; ++i) {
                            dq[i] += dpre * k[i];
                            dk[i] += dpre * q[i];
                        }
                    }
                }
        }
}

}  // namespace lm
