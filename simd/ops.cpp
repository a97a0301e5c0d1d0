#include "simd/ops.h"

#include <cmath>

#include "simd/kernels.h"

namespace lm {

void rmsnorm(float* out, const float* x, const float* weight, int n, float eps) {
    double ss = 0;  // float products summed in double, as ggml_rms_norm does
    for (int i = 0; i < n; ++i) ss += static_cast<double>(x[i] * x[i]);
    const float mean = static_cast<float>(ss / n);
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (int i = 0; i < n; ++i) out[i] = weight ? (x[i] * scale) * weight[i] : x[i] * scale;
}

void layernorm(float* out, const float* x, const float* weight, const float* bias, int n, float eps, float* mean_out,
               float* rstd_out) {
    double sum = 0;
    for (int i = 0; i < n; ++i) sum += x[i];
    const double mean = sum / n;
    double var = 0;
    for (int i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
    const float rstd = static_cast<float>(1.0 / std::sqrt(var / n + eps));
    const float m = static_cast<float>(mean);
    if (mean_out) *mean_out = m;
    if (rstd_out) *rstd_out = rstd;
    for (int i = 0; i < n; ++i) {
        float v = (x[i] - m) * rstd * (weight ? weight[i] : 1.0f);
        out[i] = bias ? v + bias[i] : v;
    }
}

const simd::RowKernels& simd::row_kernels_scalar() {
    static constexpr RowKernels table{softmax_scalar,     swiglu_scalar,
                                      gelu_tanh_scalar,   gelu_tanh_backward_scalar,
                                      gelu_erf_scalar,    gelu_erf_backward_scalar,   dropout_scalar,
                                      layernorm_backward_scalar, layernorm_param_grads_scalar};
    return table;
}

const simd::RowKernels& simd::row_kernels() {
    static const RowKernels& best = []() -> const RowKernels& {
#if defined(__x86_64__)
        if (isa_reachable(Isa::Avx512)) return row_kernels_avx512();
        if (isa_reachable(Isa::Avx2)) return row_kernels_avx2();
#endif
        return row_kernels_scalar();
    }();
    return best;
}

void layernorm_backward(float* dx, const float* dy, const float* x, const float* w, float mean, float rstd, int n) {
    simd::row_kernels().layernorm_backward(dx, dy, x, w, mean, rstd, n);
}

void simd::layernorm_backward_scalar(float* dx, const float* dy, const float* x, const float* w, float mean,
                                     float rstd, int n) {
    double sum_g = 0, sum_g_xhat = 0;
    for (int i = 0; i < n; ++i) {
        const float g = dy[i] * w[i];
        sum_g += g;
        sum_g_xhat += g * (x[i] - mean) * rstd;
    }
    const float mean_g = static_cast<float>(sum_g / n), mean_g_xhat = static_cast<float>(sum_g_xhat / n);
    for (int i = 0; i < n; ++i) dx[i] += rstd * (dy[i] * w[i] - mean_g - (x[i] - mean) * rstd * mean_g_xhat);
}

void layernorm_param_grads(float* dw, float* db, const float* dy, const float* x, float mean, float rstd, int n) {
    simd::row_kernels().layernorm_param_grads(dw, db, dy, x, mean, rstd, n);
}

void simd::layernorm_param_grads_scalar(float* dw, float* db, const float* dy, const float* x, float mean, float rstd,
                                        int n) {
    for (int i = 0; i < n; ++i) dw[i] = std::fma(dy[i], (x[i] - mean) * rstd, dw[i]);  // as the vector twin
    if (db)
        for (int i = 0; i < n; ++i) db[i] += dy[i];
}

void softmax(float* x, int n) { simd::row_kernels().softmax(x, n); }

void swiglu(float* out, const float* gate, const float* up, int n) { simd::row_kernels().swiglu(out, gate, up, n); }

void simd::softmax_scalar(float* x, int n) {
    float max = x[0];
    for (int i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
    double sum = 0;
    for (int i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - max);
        sum += x[i];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int i = 0; i < n; ++i) x[i] *= inv;
}

void rope(float* x, int head_dim, int n_heads, int pos, float freq_base, bool neox, const float* freq_factors,
          float freq_scale) {
    const int half = head_dim / 2;
    // theta_i = pos * base^(-2i/d), built by repeated multiplication in float as ggml does,
    // so positions match llama.cpp's rotation to the last bit.
    const float theta_scale = std::pow(freq_base, -2.0f / head_dim);
    float theta = static_cast<float>(pos);
    for (int i = 0; i < half; ++i, theta *= theta_scale) {
        const float angle = freq_scale * (freq_factors ? theta / freq_factors[i] : theta);
        const float c = std::cos(angle), s = std::sin(angle);
        for (int h = 0; h < n_heads; ++h) {
            float* v = x + h * head_dim;
            const int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
            const float v0 = v[a], v1 = v[b];
            v[a] = v0 * c - v1 * s;
            v[b] = v0 * s + v1 * c;
        }
    }
}

void simd::swiglu_scalar(float* out, const float* gate, const float* up, int n) {
    for (int i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void gelu_tanh(float* out, const float* x, int n) { simd::row_kernels().gelu_tanh(out, x, n); }

void simd::gelu_tanh_scalar(float* out, const float* x, int n) {
    const float k = 0.7978845608028654f;  // sqrt(2/pi)
    for (int i = 0; i < n; ++i) {
        const float v = x[i];
        out[i] = 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v)));
    }
}

void gelu_tanh_backward(float* dx, const float* dy, const float* x, int n, bool overwrite) {
    simd::row_kernels().gelu_tanh_backward(dx, dy, x, n, overwrite);
}

void simd::gelu_tanh_backward_scalar(float* dx, const float* dy, const float* x, int n, bool overwrite) {
    for (int i = 0; i < n; ++i) dx[i] = (overwrite ? 0.0f : dx[i]) + gelu_tanh_grad(x[i]) * dy[i];
}

void gelu_erf(float* out, const float* x, int n) { simd::row_kernels().gelu_erf(out, x, n); }

void dropout(float* x, int n, uint32_t seed, uint32_t first, uint32_t threshold, float scale) {
    simd::row_kernels().dropout(x, n, seed, first, threshold, scale);
}
void simd::dropout_scalar(float* x, int n, uint32_t seed, uint32_t first, uint32_t threshold, float scale) {
    for (int i = 0; i < n; ++i) {
        const uint32_t h = dropout_hash(seed + (first + static_cast<uint32_t>(i)) * kDropoutGolden);
        x[i] = h < threshold ? 0.0f : x[i] * scale;
    }
}

void simd::gelu_erf_scalar(float* out, const float* x, int n) {
    for (int i = 0; i < n; ++i) out[i] = gelu_erf_value(x[i]);
}

void gelu_erf_backward(float* dx, const float* dy, const float* x, int n, bool overwrite) {
    simd::row_kernels().gelu_erf_backward(dx, dy, x, n, overwrite);
}

void simd::gelu_erf_backward_scalar(float* dx, const float* dy, const float* x, int n, bool overwrite) {
    for (int i = 0; i < n; ++i) dx[i] = (overwrite ? 0.0f : dx[i]) + gelu_erf_grad(x[i]) * dy[i];
}

void add(float* y, const float* x, int n) {
    for (int i = 0; i < n; ++i) y[i] += x[i];
}

float dot(const float* a, const float* b, int n) {
    float s = 0;
    for (int i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

int argmax(const float* x, int n) {
    int best = 0;
    for (int i = 1; i < n; ++i)
        if (x[i] > x[best]) best = i;
    return best;
}

}  // namespace lm
