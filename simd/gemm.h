// Packed, cache-blocked F32 GEMM for prompt processing and training, written once with xsimd
// and instantiated per ISA (gemm_avx512.cpp, gemm_avx2.cpp):
//   y[t * m + r] = sum_c W[r, c] x[t * k + c]    (W is m x k, x is n x k, both row-major)
// W may be f16 or bf16: each block of rows is widened to f32 once and reused for all tokens.
// The activations are packed once per call into panels of kPanel tokens, k-major
// ([c][token], zero-padded), so one aligned vector load gives kPanel/lanes token columns
// while W is read in place, one broadcast scalar per row. The micro-kernel holds R rows x
// kPanel tokens in registers over the whole k loop, so W rows stream through L1 once per panel,
// the panel (k x kPanel floats) stays in L2, and each output is one FMA chain over c in order:
// the result is the same whatever the row blocking, thread count or token count.
// Included only by the per-ISA files; internal linkage keeps their instantiations apart.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "weights/dtype.h"

namespace lm::simd {
namespace {

template <class Arch, int kRowBlock, int kVectors>
struct Gemm {
    using batch = xsimd::batch<float, Arch>;
    static constexpr int kLanes = static_cast<int>(batch::size);
    static constexpr int kPanel = kLanes * kVectors;  // tokens per panel

    // acc[r][v] over all of k; then the R x kPanel tile is transposed into y.
    template <int R>
    static void micro(int64_t k, const float* const* w, const float* panel, float* tile) {
        batch acc[R][kVectors];
        for (int r = 0; r < R; ++r)
            for (int v = 0; v < kVectors; ++v) acc[r][v] = batch(0.f);
        for (int64_t c = 0; c < k; ++c) {
            batch xv[kVectors];
            for (int v = 0; v < kVectors; ++v) xv[v] = batch::load_aligned(panel + c * kPanel + v * kLanes);
            for (int r = 0; r < R; ++r) {
                const batch wv(w[r][c]);
                for (int v = 0; v < kVectors; ++v) acc[r][v] = xsimd::fma(wv, xv[v], acc[r][v]);
            }
        }
        for (int r = 0; r < R; ++r)
            for (int v = 0; v < kVectors; ++v) acc[r][v].store_aligned(tile + r * kPanel + v * kLanes);
    }

    // Rows [r0, r0 + nr) with nr <= kRowBlock, dispatched to the micro-kernel of that height.
    template <int R = kRowBlock>
    static void block_any(int nr, const float* const* rows, int64_t k, const float* panel, float* tile) {
        if constexpr (R > 0) {
            if (nr == R) return micro<R>(k, rows, panel, tile);
            block_any<R - 1>(nr, rows, k, panel, tile);
        }
    }

    // x (n x k) -> panels[p][c][token], tokens past n zero.
    static void pack(const float* x, int64_t k, int n, float* packed, int64_t p) {
        float* out = packed + p * k * kPanel;
        const int t0 = static_cast<int>(p) * kPanel, nt = std::min(kPanel, n - t0);
        for (int64_t c = 0; c < k; ++c) {
            for (int t = 0; t < nt; ++t) out[c * kPanel + t] = x[(t0 + t) * k + c];
            for (int t = nt; t < kPanel; ++t) out[c * kPanel + t] = 0.f;
        }
    }

    // ToF32::convert(src, dst, count) widens weight elements; F32 weights are read in place.
    template <class Weight, class ToF32>
    static void run(float* y, const Weight* w, const float* x, int64_t m, int64_t k, int n, int threads) {
        thread_local std::vector<float, xsimd::aligned_allocator<float, 64>> packed;
        const int64_t panels = (n + kPanel - 1) / kPanel, row_blocks = (m + kRowBlock - 1) / kRowBlock;
        if (packed.size() < static_cast<size_t>(panels * k * kPanel)) packed.resize(panels * k * kPanel);
        float* xp = packed.data();
        auto work = [&](int id, int count) {
            for (int64_t p = id; p < panels; p += count) pack(x, k, n, xp, p);
        };
        auto compute = [&](int id, int count) {
            alignas(64) float tile[kRowBlock * kPanel];
            thread_local std::vector<float> widened;
            if constexpr (!std::is_same_v<Weight, float>)
                if (widened.size() < static_cast<size_t>(kRowBlock * k)) widened.resize(kRowBlock * k);
            // Contiguous, equal shares of row blocks in thread order.
            for (int64_t b = row_blocks * id / count; b < row_blocks * (id + 1) / count; ++b) {
                const int64_t r0 = b * kRowBlock;
                const int nr = static_cast<int>(std::min<int64_t>(kRowBlock, m - r0));
                const float* rows[kRowBlock];
                for (int r = 0; r < nr; ++r) {
                    if constexpr (std::is_same_v<Weight, float>) {
                        rows[r] = w + (r0 + r) * k;
                    } else {
                        ToF32::convert(w + (r0 + r) * k, widened.data() + r * k, k);
                        rows[r] = widened.data() + r * k;
                    }
                }
                for (int64_t p = 0; p < panels; ++p) {
                    block_any(nr, rows, k, xp + p * k * kPanel, tile);
                    const int t0 = static_cast<int>(p) * kPanel, nt = std::min(kPanel, n - t0);
                    for (int t = 0; t < nt; ++t)
                        for (int r = 0; r < nr; ++r) y[(t0 + t) * m + r0 + r] = tile[r * kPanel + t];
                }
            }
        };
        if (threads <= 1) {
            work(0, 1);
            compute(0, 1);
            return;
        }
#pragma omp parallel num_threads(threads)
        {
            work(omp_get_thread_num(), omp_get_num_threads());
#pragma omp barrier
            compute(omp_get_thread_num(), omp_get_num_threads());
        }
    }
};

// The per-ISA entry point: f16/bf16 weights are widened per block by that ISA's converters.
template <typename Kernel, typename F16ToF32, typename BF16ToF32>
void run_gemm(float* y, const void* w, DType type, const float* x, int64_t m, int64_t k, int n, int threads) {
    const uint16_t* half = static_cast<const uint16_t*>(w);
    switch (type) {
        case DType::F16: return Kernel::template run<uint16_t, F16ToF32>(y, half, x, m, k, n, threads);
        case DType::BF16: return Kernel::template run<uint16_t, BF16ToF32>(y, half, x, m, k, n, threads);
        default: return Kernel::template run<float, void>(y, static_cast<const float*>(w), x, m, k, n, threads);
    }
}

}  // namespace
}  // namespace lm::simd
