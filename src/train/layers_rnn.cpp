// Elman RNN (tanh) forward and backprop through time (layers.h). The input projection of all
// B*T rows is one matmul; the recurrence is one B x H x H strided GEMM per time step.
#include <cmath>
#include <cstring>

#include "src/train/layers.h"

namespace lm {

// pre[b,t] = inp[b,t] wx^T + bias + h[b,t-1] wh^T;  h[b,t] = tanh(pre[b,t]), computed in place in out.
void rnn_forward(float* out, const float* inp, const float* wx, const float* wh, const float* bias, int B, int T,
                 int C, int H) {
    matmul_forward(out, inp, wx, bias, B * T, C, H);
    const long row = (long)T * H;  // stride between sequences at the same step
    for (int t = 0; t < T; ++t) {
        // out[b,t] += out[b,t-1] . wh^T, where wh^T(k, n) = wh[n * H + k]
        if (t > 0) strided_gemm(out + (long)t * H, row, out + (long)(t - 1) * H, row, 1, wh, 1, H, B, H, H);
        for (int b = 0; b < B; ++b) {
            float* h = out + b * row + (long)t * H;
            for (int i = 0; i < H; ++i) h[i] = std::tanh(h[i]);
        }
    }
}

// Going back in time: dh[t] = dout[t] + dpre[t+1] wh;  dpre[t] = dh[t] (1 - h[t]^2);
// then dwh += sum_t dpre[t]^T h[t-1], and the input projection's backward over all rows.
void rnn_backward(float* dinp, float* dwx, float* dwh, float* dbias, float* dpre, const float* dout, const float* out,
                  const float* inp, const float* wx, const float* wh, int B, int T, int C, int H) {
    const long row = (long)T * H;
    std::memcpy(dpre, dout, sizeof(float) * B * row);
    for (int t = T - 1; t >= 0; --t) {
        // dpre[b,t] += dpre[b,t+1] . wh
        if (t < T - 1) strided_gemm(dpre + (long)t * H, row, dpre + (long)(t + 1) * H, row, 1, wh, H, 1, B, H, H);
        for (int b = 0; b < B; ++b) {
            const float* h = out + b * row + (long)t * H;
            float* d = dpre + b * row + (long)t * H;
            for (int i = 0; i < H; ++i) d[i] *= 1.0f - h[i] * h[i];
        }
    }
    // dwh[n, k] += sum_{t >= 1} dpre[b,t,n] h[b,t-1,k], per sequence
    for (int b = 0; b < B; ++b)
        if (T > 1) strided_gemm(dwh, H, dpre + b * row + H, 1, H, out + b * row, H, 1, H, H, T - 1);
    matmul_backward(dinp, dwx, dbias, dpre, inp, wx, B * T, C, H);
}

}  // namespace lm
