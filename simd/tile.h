// Splits a tile (nr weight rows x nc activation rows) into register blocks of up to 4 rows x
// kMaxC columns and calls Kernel::run<R, C>. Each output keeps its own accumulators and the
// same sequence of operations whatever R and C are, so grouping never changes a result.
// With kPrefetch, the next 4 rows are requested (into L2) before a block of 4 computes: the
// block-quantized kernels otherwise wait on every row (tinyllama-1.1b decode at AVX2:
// q4_0 +50 %, q8_0 +20 %, q4_K_M +20 %). The float kernels stream at full rate, or ask for
// their rows themselves (FloatKernel), and pass false.
// Included by the per-ISA kernel files only; everything here has internal linkage so the
// AVX2 and AVX-512 instantiations never merge.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lm::simd {
namespace {

template <class Kernel, int C, bool kPrefetch>
void run_rows(int64_t k, const uint8_t* w, size_t w_stride, int nr, const uint8_t* x, size_t x_stride, float* y,
              int64_t ldy) {
    const uint8_t* xs[C];
    for (int c = 0; c < C; ++c) xs[c] = x + c * x_stride;
    int r = 0;
    for (; r + 4 <= nr; r += 4) {
        const uint8_t* ws[4] = {w + r * w_stride, w + (r + 1) * w_stride, w + (r + 2) * w_stride,
                                w + (r + 3) * w_stride};
        if constexpr (kPrefetch)  // past the tile, too: the caller's next tile is usually next in memory
            for (size_t at = 0; at < 4 * w_stride; at += 64) __builtin_prefetch(ws[0] + 4 * w_stride + at, 0, 2);
        float out[4][C];
        Kernel::template run<4, C>(k, ws, xs, out);
        for (int i = 0; i < 4; ++i)
            for (int c = 0; c < C; ++c) y[c * ldy + r + i] = out[i][c];
    }
    for (; r < nr; ++r) {
        const uint8_t* ws[1] = {w + r * w_stride};
        float out[1][C];
        Kernel::template run<1, C>(k, ws, xs, out);
        for (int c = 0; c < C; ++c) y[c * ldy + r] = out[0][c];
    }
}

template <class Kernel, int kMaxC, bool kPrefetch = true>
void tile(int64_t k, const void* wv, size_t w_stride, int nr, const void* xv, size_t x_stride, int nc, float* y,
          int64_t ldy) {
    static_assert(kMaxC >= 1 && kMaxC <= 4);
    const uint8_t* w = static_cast<const uint8_t*>(wv);
    const uint8_t* x = static_cast<const uint8_t*>(xv);
    int c = 0;
    for (; c + kMaxC <= nc; c += kMaxC)
        run_rows<Kernel, kMaxC, kPrefetch>(k, w, w_stride, nr, x + c * x_stride, x_stride, y + c * ldy, ldy);
    for (; c < nc; ++c) run_rows<Kernel, 1, kPrefetch>(k, w, w_stride, nr, x + c * x_stride, x_stride, y + c * ldy, ldy);
}

}  // namespace
}  // namespace lm::simd
