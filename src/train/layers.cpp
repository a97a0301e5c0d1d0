// Training layers: each forward beside its backward (see layers.h for shapes and conventions).
// Matmul lives in layers_matmul.cpp, attention in layers_attention.cpp.
#include "src/train/layers.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include <xsimd/xsimd.hpp>

#include "simd/ops.h"

namespace lm {

// Element-wise and row-wise work spreads over threads only past this many values.
static constexpr long PARALLEL_VALUES = 1L << 15;
// Slice of an element-wise loop one thread takes at a time.
static constexpr long CHUNK = 4096;

// ---------------------------------------------------------------------------------------------
// embedding

void embedding_forward(float* out, const int* inp, const float* wte, const float* wpe, int B, int T, int C) {
    for (int b = 0; b < B; ++b)
        for (int t = 0; t < T; ++t) {
            float* o = out + ((long)b * T + t) * C;
            std::memcpy(o, wte + (long)inp[b * T + t] * C, sizeof(float) * C);
            if (wpe) add(o, wpe + (long)t * C, C);
        }
}

// Serial: rows sharing a token id add into the same dwte row.
void embedding_backward(float* dwte, float* dwpe, const float* dout, const int* inp, int B, int T, int C) {
    for (int b = 0; b < B; ++b)
        for (int t = 0; t < T; ++t) {
            const float* d = dout + ((long)b * T + t) * C;
            add(dwte + (long)inp[b * T + t] * C, d, C);
            if (dwpe) add(dwpe + (long)t * C, d, C);
        }
}

// ---------------------------------------------------------------------------------------------
// rmsnorm

// rstd is the scale simd/ops rmsnorm applies, computed the same way (float squares summed in
// double, as ggml_rms_norm), and out is that kernel's output.
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps) {
#pragma omp parallel for schedule(static) if ((long)N * C > PARALLEL_VALUES)
    for (int n = 0; n < N; ++n) {
        const float* x = inp + (long)n * C;
        double ss = 0;
        for (int i = 0; i < C; ++i) ss += static_cast<double>(x[i] * x[i]);
        rstd[n] = 1.0f / std::sqrt(static_cast<float>(ss / C) + eps);
        rmsnorm(out + (long)n * C, x, weight, C, eps);
    }
}

// y = x r w, r = (mean(x^2) + eps)^-1/2:  dx_i = r w_i dy_i - x_i r^3 / C * sum_j dy_j w_j x_j,
// dw_i = sum_n dy_i x_i r. Rows split over threads for dx, columns for dw (no shared sums).
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int N, int C) {
#pragma omp parallel if ((long)N * C > PARALLEL_VALUES)
    {
#pragma omp for schedule(static)
        for (int n = 0; n < N; ++n) {
            const float* x = inp + (long)n * C;
            const float* dy = dout + (long)n * C;
            float* dx = dinp + (long)n * C;
            const float r = rstd[n];
            double dot_dyw_x = 0;
            for (int i = 0; i < C; ++i) dot_dyw_x += dy[i] * weight[i] * x[i];
            const float k = static_cast<float>(dot_dyw_x) * r * r * r / C;
            for (int i = 0; i < C; ++i) dx[i] += r * weight[i] * dy[i] - k * x[i];
        }
#pragma omp for schedule(static)
        for (int i0 = 0; i0 < C; i0 += 16)
            for (int n = 0; n < N; ++n)
                for (int i = i0; i < std::min(C, i0 + 16); ++i)
                    dweight[i] += dout[(long)n * C + i] * inp[(long)n * C + i] * rstd[n];
    }
}

// ---------------------------------------------------------------------------------------------
// layernorm

// The row kernels of simd/ops; out is exactly the inference layernorm's.
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C, float eps) {
#pragma omp parallel for schedule(static) if ((long)N * C > PARALLEL_VALUES)
    for (int n = 0; n < N; ++n) layernorm(out + (long)n * C, inp + (long)n * C, weight, bias, C, eps, mean + n, rstd + n);
}

// dx per row (rows split over threads); dw and db per column range (columns split over
// threads), each column summed over the rows in order whatever the split.
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int N, int C) {
#pragma omp parallel if ((long)N * C > PARALLEL_VALUES)
    {
#pragma omp for schedule(static)
        for (int n = 0; n < N; ++n)
            layernorm_backward(dinp + (long)n * C, dout + (long)n * C, inp + (long)n * C, weight, mean[n], rstd[n], C);
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int c0 = (int)((long)C * t / nt), c1 = (int)((long)C * (t + 1) / nt);
        for (int n = 0; c0 < c1 && n < N; ++n)
            layernorm_param_grads(dweight + c0, dbias ? dbias + c0 : nullptr, dout + (long)n * C + c0,
                                  inp + (long)n * C + c0, mean[n], rstd[n], c1 - c0);
    }
}

// ---------------------------------------------------------------------------------------------
// rope (adjacent pairs)

void rope_forward(float* out, const float* inp, int B, int T, int C, int n_heads, int HS, float freq_base) {
    for (int b = 0; b < B; ++b)
        for (int t = 0; t < T; ++t) {
            const long row = ((long)b * T + t) * C;
            if (out != inp) std::memcpy(out + row, inp + row, sizeof(float) * C);
            rope(out + row, HS, n_heads, t, freq_base, false);
        }
}

// The rotation is orthogonal, so dx = R(theta)^T dy = R(-theta) dy: the simd/ops kernel at
// position -t turns by exactly the negated angles of the forward (cos is even, sin odd).
void rope_backward(float* dinp, const float* dout, int B, int T, int C, int n_heads, int HS, float freq_base,
                   Dinp mode) {
    const int R = n_heads * HS;
    thread_local std::vector<float> row;  // grows once per thread
    if ((int)row.size() < R) row.resize(R);
    for (int b = 0; b < B; ++b)
        for (int t = 0; t < T; ++t) {
            const long off = ((long)b * T + t) * C;
            std::memcpy(row.data(), dout + off, sizeof(float) * R);
            rope(row.data(), HS, n_heads, -t, freq_base, false);
            if (mode == Dinp::Overwrite) {
                std::memcpy(dinp + off, row.data(), sizeof(float) * R);
                std::memcpy(dinp + off + R, dout + off + R, sizeof(float) * (C - R));
            } else {
                add(dinp + off, row.data(), R);
                add(dinp + off + R, dout + off + R, C - R);
            }
        }
}

// ---------------------------------------------------------------------------------------------
// swiglu, gelu, residual

void swiglu_forward(float* out, const float* inp, int N, int H) {
#pragma omp parallel for schedule(static) if ((long)N * H > PARALLEL_VALUES)
    for (int n = 0; n < N; ++n) swiglu(out + (long)n * H, inp + 2L * n * H, inp + 2L * n * H + H, H);
}

// out = g sigma(g) u:  dg = dy u sigma(g) (1 + g (1 - sigma(g))),  du = dy g sigma(g)
template <typename F>
static void swiglu_grads(F gate, F up, F dy, F& dgate, F& dup) {
    using std::exp;  // xsimd::exp is found by argument lookup for batches
    const F sig = 1.0f / (1.0f + exp(-gate));
    dgate = dy * up * sig * (1.0f + gate * (1.0f - sig));
    dup = dy * gate * sig;
}

void swiglu_backward(float* dinp, const float* dout, const float* inp, int N, int H, Dinp mode) {
    const bool add = mode == Dinp::Accumulate;  // (0 * an uninitialized NaN would not be 0)
    using vec = xsimd::batch<float>;
    constexpr int VL = vec::size;
#pragma omp parallel for schedule(static) if ((long)N * H > PARALLEL_VALUES)
    for (int n = 0; n < N; ++n) {
        const float* gate = inp + 2L * n * H;
        const float* up = gate + H;
        float* dgate = dinp + 2L * n * H;
        float* dup = dgate + H;
        const float* dy = dout + (long)n * H;
        int i = 0;
        for (; i + VL <= H; i += VL) {
            vec dg, du;
            swiglu_grads(xsimd::load_unaligned(gate + i), xsimd::load_unaligned(up + i), xsimd::load_unaligned(dy + i),
                         dg, du);
            (add ? xsimd::load_unaligned(dgate + i) + dg : dg).store_unaligned(dgate + i);
            (add ? xsimd::load_unaligned(dup + i) + du : du).store_unaligned(dup + i);
        }
        for (; i < H; ++i) {
            float dg, du;
            swiglu_grads(gate[i], up[i], dy[i], dg, du);
            dgate[i] = add ? dgate[i] + dg : dg;
            dup[i] = add ? dup[i] + du : du;
        }
    }
}

// f(i0, len) over the slices [i0, i0 + len) of n values, CHUNK at a time, on the team when n
// is large (the element-wise row kernels of simd/ops.h).
template <typename Fn>
static void in_chunks(long n, Fn f) {
#pragma omp parallel for schedule(static) if (n > PARALLEL_VALUES)
    for (long i0 = 0; i0 < n; i0 += CHUNK) f(i0, (int)std::min(CHUNK, n - i0));
}

void gelu_forward(float* out, const float* inp, int n) {
    in_chunks(n, [&](long i, int len) { gelu_tanh(out + i, inp + i, len); });
}

void gelu_backward(float* dinp, const float* dout, const float* inp, int n, Dinp mode) {
    in_chunks(n, [&](long i, int len) { gelu_tanh_backward(dinp + i, dout + i, inp + i, len, mode == Dinp::Overwrite); });
}

void gelu_erf_forward(float* out, const float* inp, int n) {
    in_chunks(n, [&](long i, int len) { gelu_erf(out + i, inp + i, len); });
}

void gelu_erf_backward(float* dinp, const float* dout, const float* inp, int n, Dinp mode) {
    in_chunks(n, [&](long i, int len) { gelu_erf_backward(dinp + i, dout + i, inp + i, len, mode == Dinp::Overwrite); });
}

void residual_forward(float* out, const float* inp1, const float* inp2, int n) {
#pragma omp parallel for schedule(static) if (n > PARALLEL_VALUES)
    for (int i = 0; i < n; ++i) out[i] = inp1[i] + inp2[i];
}

void residual_backward(float* dinp1, float* dinp2, const float* dout, int n) {
    add(dinp1, dout, n);
    add(dinp2, dout, n);
}

// ---------------------------------------------------------------------------------------------
// softmax cross-entropy

static int count_valid(const int* targets, int N, int ignore_index) {
    int valid = 0;
    for (int n = 0; n < N; ++n) valid += targets[n] != ignore_index;
    return valid;
}

float crossentropy_forward(float* probs, const float* logits, const int* targets, int N, int V, int ignore_index) {
#pragma omp parallel for schedule(static) if ((long)N * V > PARALLEL_VALUES)
    for (int n = 0; n < N; ++n) {
        float* p = probs + (long)n * V;
        if (p != logits + (long)n * V) std::memcpy(p, logits + (long)n * V, sizeof(float) * V);
        softmax(p, V);
    }
    double loss = 0;  // summed in row order so the loss does not depend on the thread count
    for (int n = 0; n < N; ++n)
        if (targets[n] != ignore_index) loss -= std::log(probs[(long)n * V + targets[n]]);
    const int valid = count_valid(targets, N, ignore_index);
    return valid ? static_cast<float>(loss / valid) : 0.0f;
}

// loss = -1/n_valid sum log p[target]:  dlogits = (p - onehot(target)) / n_valid on counted rows
void crossentropy_backward(float* dlogits, const float* probs, const int* targets, int N, int V, int ignore_index) {
    const int valid = count_valid(targets, N, ignore_index);
    if (!valid) return;
    const float scale = 1.0f / valid;
#pragma omp parallel for schedule(static) if ((long)N * V > PARALLEL_VALUES)
    for (int n = 0; n < N; ++n) {
        if (targets[n] == ignore_index) continue;
        const float* p = probs + (long)n * V;
        float* d = dlogits + (long)n * V;
        for (int i = 0; i < V; ++i) d[i] += p[i] * scale;
        d[targets[n]] -= scale;
    }
}

}  // namespace lm
