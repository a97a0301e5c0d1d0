// Multi-head attention (causal, or bidirectional over padded sequences) with grouped-query
// heads over packed q|k|v rows (layers.h).
// Each (batch, head) is a handful of small strided GEMMs on one thread: the packed GEMM reads
// q, k, v in place inside the qkv rows, and the full T x T products (twice the causal work)
// still beat per-pair dot products by far.
#include <cmath>

#include "simd/ops.h"
#include "src/train/layers.h"

namespace lm {

// Below this many multiply-adds a call runs on one thread.
static constexpr long ATTENTION_PARALLEL_WORK = 1L << 15;

// Keys query t of sequence b sees: t2 <= t (causal) or t2 < lengths[b].
static inline int visible_keys(const int* lengths, int b, int t) { return lengths ? lengths[b] : t + 1; }

// att = softmax(q k^T / sqrt(HS)) over the visible keys;  out = att v   (Vaswani et al. eq. 1)
void attention_forward(float* out, float* att, const float* qkv, int B, int T, int NH, int NKV, int HS,
                       const int* lengths) {
    const int C3 = (NH + 2 * NKV) * HS, C = NH * HS, group = NH / NKV;
    const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
    const bool parallel = (long)B * NH * T * T * HS > ATTENTION_PARALLEL_WORK;
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < NH; ++h) {
            const float* q = qkv + (long)b * T * C3 + h * HS;
            const float* k = qkv + (long)b * T * C3 + C + (h / group) * HS;
            const float* v = k + NKV * HS;
            float* a = att + ((long)b * NH + h) * T * T;
            float* o = out + (long)b * T * C + h * HS;
            strided_gemm(a, T, q, C3, 1, k, 1, C3, T, T, HS, true);  // a[t, t2] = q[t] . k[t2]
            for (int t = 0; t < T; ++t) {
                float* row = a + (long)t * T;
                const int n = visible_keys(lengths, b, t);
                for (int t2 = 0; t2 < n; ++t2) row[t2] *= scale;
                softmax(row, n);
                for (int t2 = n; t2 < T; ++t2) row[t2] = 0.0f;
            }
            strided_gemm(o, C, a, T, 1, v, C3, 1, T, HS, T, true);  // o[t] = sum_t2 a[t, t2] v[t2]
        }
}

// dP = dO v^T, dv += P^T dO; softmax: dS = P (dP - rowsum(P dP)) / sqrt(HS);
// dq += dS k, dk += dS^T q. One thread owns a (b, kv head) pair and so every query head that
// writes into its dk, dv.
void attention_backward(float* dqkv, float* datt, const float* dout, const float* qkv, const float* att, int B,
                        int T, int NH, int NKV, int HS, Dinp mode, const int* lengths) {
    const int C3 = (NH + 2 * NKV) * HS, C = NH * HS, group = NH / NKV;
    const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
    const bool parallel = (long)B * NH * T * T * HS > ATTENTION_PARALLEL_WORK;
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
    for (int b = 0; b < B; ++b)
        for (int kvh = 0; kvh < NKV; ++kvh) {
            const long base = (long)b * T * C3;
            const float* k = qkv + base + C + kvh * HS;
            const float* v = k + NKV * HS;
            float* dk = dqkv + base + C + kvh * HS;
            float* dv = dk + NKV * HS;
            for (int h = kvh * group; h < (kvh + 1) * group; ++h) {
                const float* q = qkv + base + h * HS;
                float* dq = dqkv + base + h * HS;
                const float* dy = dout + (long)b * T * C + h * HS;
                const float* p = att + ((long)b * NH + h) * T * T;
                float* ds = datt + ((long)b * NH + h) * T * T;
                strided_gemm(ds, T, dy, C, 1, v, 1, C3, T, T, HS, true);  // dP[t, t2] = dO[t] . v[t2]
                // Overwriting, the first query head of the group sets dk and dv and the others add.
                const bool set = mode == Dinp::Overwrite, first = h == kvh * group;
                strided_gemm(dv, C3, p, 1, T, dy, C, 1, T, HS, T, set && first);  // dv[t2] += sum_t P[t, t2] dO[t]
                for (int t = 0; t < T; ++t) {
                    const float* prow = p + (long)t * T;
                    float* row = ds + (long)t * T;
                    const int n = visible_keys(lengths, b, t);
                    double sum = 0;
                    for (int t2 = 0; t2 < n; ++t2) sum += prow[t2] * row[t2];
                    for (int t2 = 0; t2 < n; ++t2) row[t2] = prow[t2] * (row[t2] - static_cast<float>(sum)) * scale;
                    for (int t2 = n; t2 < T; ++t2) row[t2] = 0.0f;
                }
                strided_gemm(dq, C3, ds, T, 1, k, C3, 1, T, HS, T, set);          // dq[t] += sum_t2 dS[t, t2] k[t2]
                strided_gemm(dk, C3, ds, 1, T, q, C3, 1, T, HS, T, set && first);  // dk[t2] += sum_t dS[t, t2] q[t]
            }
        }
}

}  // namespace lm
