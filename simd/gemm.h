// The packed, cache-blocked F32 GEMM behind prompt processing and training, written once with
// xsimd and instantiated per ISA (gemm_avx512.cpp, gemm_avx2.cpp, gemm_neon.cpp,
// gemm_baseline.cpp):
//   C[M, N] (+)= A[M, K] . B[K, N] (+ bias[N]),  A(m, k) = a[m * a_rs + k * a_cs],  B(k, n) = b[k * b_rs + n * b_cs]
// B may hold f16 or bf16 (weights); packing widens it. Two loop nests:
//  - block(): after BLIS (Van Zee and van de Geijn, 2015): NC columns -> KC depth -> pack B ->
//    MC rows -> pack A -> NR columns -> MR rows, where the MR x NR register tile reads both
//    operands as contiguous packed streams (A one broadcast per row, B NR/lanes aligned
//    vectors per k). The B micro-panel stays in L1 across the MC rows, the packed A block in
//    L2 across the NC columns. Training's products and large-M ones take this path.
//  - block_wt(): x W^T with fewer rows of x than of W (prompt processing), where packing B
//    would mean transposing all of W per call; see the comment there.
// Every output is the same sequence of operations whatever share of the product a thread
// computes: an FMA chain over each KC block of k in order, the blocks added to C in order.
// So results never depend on the thread count or on how M and N are split.
// Included only by the per-ISA files; internal linkage keeps their instantiations apart.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "simd/kernels.h"

namespace lm::simd {
namespace {

// 64-byte aligned storage under an allocator type of this file's own: std::vector's code for
// it then has internal linkage too. With xsimd::aligned_allocator the AVX2 and AVX-512 files
// shared one weak copy of vector<float>::_M_default_append, and at -O1 (make test-asan) the
// linker kept the AVX-512 one: SIGILL on AVX2-only CPUs.
template <class T>
struct Aligned64 {
    using value_type = T;
    Aligned64() = default;
    template <class U>
    Aligned64(const Aligned64<U>&) noexcept {}
    T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
    void deallocate(T* p, size_t) noexcept { ::operator delete(p, std::align_val_t{64}); }
    template <class U>
    bool operator==(const Aligned64<U>&) const noexcept { return true; }
};
using AlignedFloats = std::vector<float, Aligned64<float>>;

// The scalar transpose: dst[k * LD + j] = src[j * stride + k] for j < cols, k < kc. ISAs with a
// faster one pass their own Ops::transpose.
template <int LD>
inline void transpose_columns(const float* src, int64_t stride, int cols, int kc, float* dst) {
    for (int j = 0; j < cols; ++j)
        for (int k = 0; k < kc; ++k) dst[k * LD + j] = src[j * stride + k];
}

// transpose_columns in B x B register blocks: block(src, stride, rows, dst, ld) transposes one
// (rows <= B columns of dst, B rows); the depth past the last whole block goes scalar.
template <int LD, int B, class Block>
inline void transpose_blocks(Block block, const float* src, int64_t stride, int cols, int kc, float* dst) {
    const int kfull = kc / B * B;
    for (int j = 0; j < cols; j += B)
        for (int k = 0; k < kfull; k += B) block(src + j * stride + k, stride, std::min(B, cols - j), dst + k * LD + j, LD);
    if (kfull < kc) transpose_columns<LD>(src + kfull, stride, cols, kc - kfull, dst + kfull * LD);
}

// Ops (per ISA) supplies f16(src, dst, n) and bf16(src, dst, n), which widen n B elements to
// f32, and transpose<LD>(src, stride, cols, kc, dst) as transpose_columns (packing A rows and
// B = W^T columns).
template <class Arch, int MR, int NV, class Ops>
struct Gemm {
    using batch = xsimd::batch<float, Arch>;
    static constexpr int L = static_cast<int>(batch::size);
    static constexpr int NR = L * NV;            // columns of a register tile
    static constexpr int KC = 128;               // depth of a packed block: B and A micro-panels stay in L1
    static constexpr int MC = MR * (192 / MR);   // rows of a packed A block
    static constexpr int NC = NR * 32;           // columns of a packed B block

    // Asks for the cache lines of rows [0, rows) x [0, n) of src (row stride `stride`): the next
    // panel to transpose, whose short strided rows the hardware prefetchers do not foresee.
    static void prefetch_rows(const float* src, int64_t stride, int rows, int n) {
        for (int j = 0; j < rows; ++j)
            for (int k = 0; k < n; k += 64 / static_cast<int>(sizeof(float))) __builtin_prefetch(src + j * stride + k, 0, 2);
    }

    // A rows [m0, m0 + mc) x depth [k0, k0 + kc) as MR-row micro-panels, [k][row], zero-padded.
    static void pack_a(float* dst, const GemmArgs& g, int m0, int mc, int k0, int kc) {
        for (int p = 0; p < mc; p += MR, dst += MR * kc) {
            const int rows = std::min(MR, mc - p);
            const float* a = g.a + (m0 + p) * g.a_rs + k0 * g.a_cs;
            if (g.a_cs == 1) {
                prefetch_rows(a + MR * g.a_rs, g.a_rs, std::min(MR, mc - p - MR), kc);
                Ops::template transpose<MR>(a, g.a_rs, rows, kc, dst);
            } else if (g.a_rs == 1 && rows == MR) {  // a constant-size copy per k: inlined vector moves
                for (int k = 0; k < kc; ++k) std::memcpy(dst + k * MR, a + k * g.a_cs, sizeof(float) * MR);
            } else {
                for (int k = 0; k < kc; ++k)
                    for (int i = 0; i < rows; ++i) dst[k * MR + i] = a[i * g.a_rs + k * g.a_cs];
            }
            if (rows < MR)
                for (int k = 0; k < kc; ++k) std::fill(dst + k * MR + rows, dst + (k + 1) * MR, 0.f);
        }
    }

    static void widen(const GemmArgs& g, int64_t offset, float* dst, int n) {
        switch (g.b_type) {
            case DType::F16: return Ops::f16(static_cast<const uint16_t*>(g.b) + offset, dst, n);
            case DType::BF16: return Ops::bf16(static_cast<const uint16_t*>(g.b) + offset, dst, n);
            default: {  // inline vector moves: a library call per row of W costs more than the copy
                const float* src = static_cast<const float*>(g.b) + offset;
                int i = 0;
                for (; i + L <= n; i += L) batch::load_unaligned(src + i).store_unaligned(dst + i);
                for (; i < n; ++i) dst[i] = src[i];
            }
        }
    }

    // B depth [k0, k0 + kc) x columns [n0, n0 + nc) as NR-column micro-panels, [k][col] each,
    // zero-padded.
    static void pack_b(float* dst, const GemmArgs& g, int k0, int kc, int n0, int nc) {
        thread_local AlignedFloats widened;
        const int64_t base = k0 * g.b_rs + n0 * g.b_cs;
        const int full = nc / NR * NR;  // columns in whole panels
        if (g.b_cs == 1) {  // rows of B contiguous: read each row once, left to right
            for (int k = 0; k < kc; ++k) {
                float* out = dst + k * NR;
                if (g.b_type == DType::F32) {
                    const float* row = static_cast<const float*>(g.b) + base + k * g.b_rs;
                    for (int q = 0; q < full; q += NR)
                        for (int v = 0; v < NV; ++v)
                            batch::load_unaligned(row + q + v * L).store_aligned(out + q * kc + v * L);
                } else {
                    for (int q = 0; q < full; q += NR) widen(g, base + k * g.b_rs + q, out + q * kc, NR);
                }
                if (full < nc) {
                    widen(g, base + k * g.b_rs + full, out + full * kc, nc - full);
                    std::fill(out + full * kc + nc - full, out + full * kc + NR, 0.f);
                }
            }
            return;
        }
        for (int q = 0; q < nc; q += NR, dst += NR * kc) {
            const int cols = std::min(NR, nc - q);
            const int64_t at = base + q * g.b_cs;
            if (g.b_rs == 1) {  // columns of B contiguous (B = W^T for a row-major W)
                if (g.b_type == DType::F32) {
                    prefetch_rows(static_cast<const float*>(g.b) + at + NR * g.b_cs, g.b_cs, std::min(NR, nc - q - NR), kc);
                    Ops::template transpose<NR>(static_cast<const float*>(g.b) + at, g.b_cs, cols, kc, dst);
                } else {
                    if (widened.size() < static_cast<size_t>(NR) * KC) widened.resize(static_cast<size_t>(NR) * KC);
                    for (int j = 0; j < cols; ++j) widen(g, at + j * g.b_cs, widened.data() + j * kc, kc);
                    Ops::template transpose<NR>(widened.data(), kc, cols, kc, dst);
                }
                for (int k = 0; k < kc; ++k) std::fill(dst + k * NR + cols, dst + (k + 1) * NR, 0.f);
            } else {
                for (int k = 0; k < kc; ++k)
                    for (int j = 0; j < NR; ++j) {
                        float v = 0.f;
                        if (j < cols) widen(g, at + k * g.b_rs + j * g.b_cs, &v, 1);
                        dst[k * NR + j] = v;
                    }
            }
        }
    }

    // C tile (R rows x cols, of an MR x NR tile) = or += packed A micro-panel . packed B micro-panel
    // (+ bias: the tile's columns of it, or null). Short tiles (the last rows of M) run with only
    // R rows of accumulators.
    template <int R>
    static void micro(int kc, const float* ap, const float* bp, float* c, int64_t ldc, int cols, bool overwrite,
                      const float* bias) {
        for (int i = 0; i < R; ++i)  // the C tile arrives while the k loop runs
            for (int v = 0; v < NV; v += 64 / (L * 4)) __builtin_prefetch(c + i * ldc + v * L, 1);
        batch acc[R][NV];
        for (int i = 0; i < R; ++i)
            for (int v = 0; v < NV; ++v) acc[i][v] = batch(0.f);
        for (int k = 0; k < kc; ++k, ap += MR, bp += NR) {
            batch b[NV];
            for (int v = 0; v < NV; ++v) b[v] = batch::load_aligned(bp + v * L);
            for (int i = 0; i < R; ++i) {
                const batch a(ap[i]);
                for (int v = 0; v < NV; ++v) acc[i][v] = xsimd::fma(a, b[v], acc[i][v]);
            }
        }
        if (cols == NR) {
            if (bias)
                for (int v = 0; v < NV; ++v) {
                    const batch bv = batch::load_unaligned(bias + v * L);
                    for (int i = 0; i < R; ++i) acc[i][v] += bv;
                }
            for (int i = 0; i < R; ++i)
                for (int v = 0; v < NV; ++v) {
                    float* ci = c + i * ldc + v * L;
                    (overwrite ? acc[i][v] : acc[i][v] + batch::load_unaligned(ci)).store_unaligned(ci);
                }
            return;
        }
        alignas(64) float out[R][NR];
        for (int i = 0; i < R; ++i)
            for (int v = 0; v < NV; ++v) acc[i][v].store_aligned(out[i] + v * L);
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < cols; ++j) {
                const float v = bias ? out[i][j] + bias[j] : out[i][j];
                c[i * ldc + j] = overwrite ? v : c[i * ldc + j] + v;
            }
    }

    // micro<rows> for 1 <= rows <= MR.
    template <int R = MR>
    static void tile(int rows, int kc, const float* ap, const float* bp, float* c, int64_t ldc, int cols,
                     bool overwrite, const float* bias) {
        if constexpr (R > 0) {
            if (rows == R) return micro<R>(kc, ap, bp, c, ldc, cols, overwrite, bias);
            tile<R - 1>(rows, kc, ap, bp, c, ldc, cols, overwrite, bias);
        }
    }

    // The whole nest over rows [mb, me) and columns [nb, ne) on the calling thread.
    static void block(const GemmArgs& g, int mb, int me, int nb, int ne) {
        thread_local AlignedFloats a_pack, b_pack;
        if (a_pack.size() < static_cast<size_t>(MC) * KC) a_pack.resize(static_cast<size_t>(MC) * KC);
        if (b_pack.size() < static_cast<size_t>(KC) * NC) b_pack.resize(static_cast<size_t>(KC) * NC);
        for (int n0 = nb; n0 < ne; n0 += NC) {
            const int nc = std::min(NC, ne - n0);
            for (int k0 = 0; k0 < g.K; k0 += KC) {
                const int kc = std::min(KC, g.K - k0);
                const bool overwrite = g.overwrite && k0 == 0;
                const float* bias = k0 == 0 ? g.bias : nullptr;
                pack_b(b_pack.data(), g, k0, kc, n0, nc);
                for (int m0 = mb; m0 < me; m0 += MC) {
                    const int mc = std::min(MC, me - m0);
                    pack_a(a_pack.data(), g, m0, mc, k0, kc);
                    for (int j = 0; j < nc; j += NR)  // the B micro-panel stays in L1 across the rows
                        for (int i = 0; i < mc; i += MR)
                            tile(std::min(MR, mc - i), kc, a_pack.data() + i * kc, b_pack.data() + j * kc,
                                 g.c + (m0 + i) * g.ldc + n0 + j, g.ldc, std::min(NR, nc - j), overwrite,
                                 bias ? bias + n0 + j : nullptr);
                }
            }
        }
    }

    // ---- B = W^T (b_rs == 1: the rows of W contiguous) with M < N, as in prompts -------------
    // Packing B here would mean transposing W, which costs a large share of the arithmetic
    // when M is small: the shuffles share ports with the FMAs, and W streams from memory
    // without overlap. So this path swaps the roles: MR rows of W are copied as they are
    // into a [MR][KC] buffer (plain vector copies) and broadcast from it, while A (the
    // activations, M x K, small) is transposed once into panels of NR rows, [k][row], that
    // the vector side reads. The register tile is MR columns of C x NR rows of C, kept across
    // the KC blocks in a small buffer and written to C (transposed, with bias) at the end.
    // Each output is still one FMA chain per KC block, the blocks added in order, so results
    // do not depend on the split either.

    // acc[i][v] (+)= sum_k wbuf[i][k] panel[k][v*L ..]; partial sums in and out of `part`. The
    // cache lines at pf[0 .. npf) are asked for spread over the k loop (a burst of requests
    // would stall it once the line fill buffers are full).
    template <int R>
    static void micro_wt(int kc, const float* wbuf, const float* panel, float* part, bool first,
                         const char* const* pf, int npf) {
        batch acc[R][NV];
        for (int i = 0; i < R; ++i)
            for (int v = 0; v < NV; ++v) acc[i][v] = first ? batch(0.f) : batch::load_aligned(part + (i * NV + v) * L);
        const int every = std::max(1, kc / std::max(1, npf));
        int q = 0, countdown = 1;
        for (int k = 0; k < kc; ++k, panel += NR) {
            if (--countdown == 0) {
                countdown = every;
                if (q < npf) __builtin_prefetch(pf[q++], 0, 3);
            }
            batch xv[NV];
            for (int v = 0; v < NV; ++v) xv[v] = batch::load_aligned(panel + v * L);
            for (int i = 0; i < R; ++i) {
                const batch w(wbuf[i * KC + k]);
                for (int v = 0; v < NV; ++v) acc[i][v] = xsimd::fma(w, xv[v], acc[i][v]);
            }
        }
        while (q < npf) __builtin_prefetch(pf[q++], 0, 3);
        for (int i = 0; i < R; ++i)
            for (int v = 0; v < NV; ++v) acc[i][v].store_aligned(part + (i * NV + v) * L);
    }

    template <int R = MR>
    static void tile_wt(int rows, int kc, const float* wbuf, const float* panel, float* part, bool first,
                        const char* const* pf, int npf) {
        if constexpr (R > 0) {
            if (rows == R) return micro_wt<R>(kc, wbuf, panel, part, first, pf, npf);
            tile_wt<R - 1>(rows, kc, wbuf, panel, part, first, pf, npf);
        }
    }

    // Columns [nb, ne) of C (rows of W) for all M rows, on the calling thread.
    static void block_wt(const GemmArgs& g, int nb, int ne) {
        const int panels = (g.M + NR - 1) / NR, blocks = (g.K + KC - 1) / KC;
        thread_local AlignedFloats a_pack, wbuf, parts;
        const size_t a_size = static_cast<size_t>(blocks) * panels * KC * NR;
        if (a_pack.size() < a_size) a_pack.resize(a_size);
        if (wbuf.size() < static_cast<size_t>(MR) * KC) wbuf.resize(static_cast<size_t>(MR) * KC);
        if (parts.size() < static_cast<size_t>(panels) * MR * NR) parts.resize(static_cast<size_t>(panels) * MR * NR);
        // A panels, [k block][panel][k][row], rows past M zero.
        for (int b = 0; b < blocks; ++b) {
            const int k0 = b * KC, kc = std::min(KC, g.K - k0);
            for (int p = 0; p < panels; ++p) {
                float* dst = a_pack.data() + (static_cast<size_t>(b) * panels + p) * KC * NR;
                const int rows = std::min(NR, g.M - p * NR);
                const float* a = g.a + p * NR * g.a_rs + k0 * g.a_cs;
                if (g.a_cs == 1) {
                    Ops::template transpose<NR>(a, g.a_rs, rows, kc, dst);
                } else {
                    for (int k = 0; k < kc; ++k)
                        for (int t = 0; t < rows; ++t) dst[k * NR + t] = a[t * g.a_rs + k * g.a_cs];
                }
                if (rows < NR)
                    for (int k = 0; k < kc; ++k) std::fill(dst + k * NR + rows, dst + (k + 1) * NR, 0.f);
            }
        }
        // The cache lines of the next block's rows of W (the next columns' first block after the
        // last), fetched while this block multiplies: a share of them per panel.
        constexpr int kMaxLines = MR * KC * 4 / 64;
        const char* lines[kMaxLines];
        const int size = g.b_type == DType::F32 ? 4 : 2;
        alignas(64) float out[NR * MR];
        for (int n0 = nb; n0 < ne; n0 += MR) {
            const int cols = std::min(MR, ne - n0);
            for (int b = 0; b < blocks; ++b) {
                const int k0 = b * KC, kc = std::min(KC, g.K - k0);
                for (int i = 0; i < cols; ++i) widen(g, k0 + (n0 + i) * g.b_cs, wbuf.data() + i * KC, kc);
                const int nk0 = b + 1 < blocks ? k0 + KC : 0, nn0 = b + 1 < blocks ? n0 : n0 + MR;
                const int next_rows = nn0 < ne ? std::min(MR, ne - nn0) : 0;
                const int next_bytes = std::min(KC, g.K - nk0) * size;
                int nlines = 0;
                for (int row = 0; row < next_rows; ++row) {
                    const char* src = static_cast<const char*>(g.b) + (nk0 + (nn0 + row) * g.b_cs) * size;
                    for (int at = 0; at < next_bytes; at += 64) lines[nlines++] = src + at;
                }
                for (int p = 0; p < panels; ++p) {
                    const int l0 = nlines * p / panels, l1 = nlines * (p + 1) / panels;
                    tile_wt(cols, kc, wbuf.data(), a_pack.data() + (static_cast<size_t>(b) * panels + p) * KC * NR,
                            parts.data() + static_cast<size_t>(p) * MR * NR, b == 0, lines + l0, l1 - l0);
                }
            }
            for (int p = 0; p < panels; ++p) {  // C rows p*NR.. x columns n0.., from [column][row] tiles
                const int rows = std::min(NR, g.M - p * NR);
                Ops::template transpose<MR>(parts.data() + static_cast<size_t>(p) * MR * NR, NR, cols, rows, out);
                for (int t = 0; t < rows; ++t) {
                    float* c = g.c + (p * NR + t) * g.ldc + n0;
                    const float* o = out + t * MR;
                    for (int i = 0; i < cols; ++i) {
                        const float v = g.bias ? o[i] + g.bias[n0 + i] : o[i];
                        c[i] = g.overwrite ? v : c[i] + v;
                    }
                }
            }
        }
    }

    // Share `part` of `parts`: contiguous runs of MR-row panels or of NR-column panels, whichever
    // dimension is longer. Every share packs all of the operand it does not split (B when rows
    // are split, A when columns are), so splitting the longer side packs the least twice.
    static void run(const GemmArgs& g, int part, int parts) {
        if (g.M <= 0 || g.N <= 0) return;
        if (g.K <= 0) {  // C (+)= bias
            if (part == 0)
                for (int m = 0; m < g.M; ++m)
                    for (int n = 0; n < g.N; ++n)
                        g.c[m * g.ldc + n] = (g.overwrite ? 0.f : g.c[m * g.ldc + n]) + (g.bias ? g.bias[n] : 0.f);
            return;
        }
        // W^T with fewer rows of A than of W (prompts): transpose A rather than W. Shares are
        // whole MR-column groups.
        if (g.b_rs == 1 && g.b_cs != 1 && g.M < g.N) {
            const int64_t groups = (g.N + MR - 1) / MR;
            const int p0 = static_cast<int>(groups * part / parts), p1 = static_cast<int>(groups * (part + 1) / parts);
            if (p0 < p1) block_wt(g, p0 * MR, std::min(g.N, p1 * MR));
            return;
        }
        const int64_t col_panels = (g.N + NR - 1) / NR, row_panels = (g.M + MR - 1) / MR;
        if (g.N >= g.M) {
            const int p0 = static_cast<int>(col_panels * part / parts), p1 = static_cast<int>(col_panels * (part + 1) / parts);
            if (p0 < p1) block(g, 0, g.M, p0 * NR, std::min(g.N, p1 * NR));
        } else {
            const int p0 = static_cast<int>(row_panels * part / parts), p1 = static_cast<int>(row_panels * (part + 1) / parts);
            if (p0 < p1) block(g, p0 * MR, std::min(g.M, p1 * MR), 0, g.N);
        }
    }
};

}  // namespace
}  // namespace lm::simd
