// Packed, cache-blocked F32 GEMM over arbitrary strides, for the training matmuls:
//   C[M, N] += A[M, K] . B[K, N],  A(m, k) = a[m * a_rs + k * a_cs],  B(k, n) = b[k * b_rs + n * b_cs]
// so one routine serves out = inp W^T, dinp = dout W and dweight = dout^T inp without
// transposing anything in memory (packing B absorbs its strides; A is read in place by
// broadcast loads). Loop nest after BLIS (Van Zee & van de Geijn 2015): NC columns -> KC
// depth -> pack B -> MC rows -> MR x NR register tile. Work is shared out as contiguous ranges
// of NR-column panels, each running the whole nest, so results do not depend on the thread count.
//
// Included once per ISA (layers_matmul.cpp, layers_gemm_avx2.cpp, layers_gemm_avx512.cpp);
// everything has internal linkage so the instantiations for different ISAs never merge.
#pragma once
#include <algorithm>
#include <vector>
#include <xsimd/xsimd.hpp>

namespace lm {
namespace {

namespace gemm_detail {

using vec = xsimd::batch<float>;
constexpr int VL = static_cast<int>(vec::size);
constexpr int NR = 2 * VL;            // columns of a register tile: two vectors
constexpr int MR = VL >= 16 ? 12 : 6;  // rows: 2 * MR accumulators fit the register file
constexpr int KC = 256;               // depth of a packed block
constexpr int MC = MR * 16;           // rows of A swept per B panel (stay in L2)
constexpr int NC = NR * 32;           // columns of a packed B block

// Packs B depth [k0, k0 + kc) x columns [n0, n0 + nc) as NR-column panels, k-major, zero-padded.
inline void pack_b(float* dst, const float* b, long b_rs, long b_cs, int k0, int kc, int n0, int nc) {
    for (int p = 0; p < nc; p += NR) {
        const int cols = std::min(NR, nc - p);
        if (b_cs == 1) {
            for (int k = 0; k < kc; ++k, dst += NR) {
                const float* src = b + (long)(k0 + k) * b_rs + n0 + p;
                for (int j = 0; j < cols; ++j) dst[j] = src[j];
                for (int j = cols; j < NR; ++j) dst[j] = 0.0f;
            }
        } else {  // B is a transposed row-major matrix: read each column contiguously
            for (int j = 0; j < NR; ++j) {
                const float* src = b + (long)(n0 + p + j) * b_cs + (long)k0 * b_rs;
                for (int k = 0; k < kc; ++k) dst[k * NR + j] = j < cols ? src[k * b_rs] : 0.0f;
            }
            dst += (long)kc * NR;
        }
    }
}

// C[0:rows, 0:cols] (+)= A[0:rows, 0:kc] . Bpanel with A read in place, A(i, k) = a[i * a_rs + k * a_cs]
// (broadcast loads need no packing); rows <= MR, cols <= NR. Short tiles reread A's last row.
template <bool A_UNIT_ROWS>
inline void micro_kernel(int kc, const float* a, long a_rs, long a_cs, const float* bp, float* c, long ldc,
                         int rows, int cols, bool overwrite) {
    vec acc[MR][2];
    for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = vec(0.0f);
    if constexpr (A_UNIT_ROWS) {  // A(i, k) = a[i + k * a_cs]: MR consecutive values per k
        alignas(64) float last[MR];
        for (int k = 0; k < kc; ++k, bp += NR) {
            const float* ak = a + k * a_cs;
            if (rows < MR) {
                for (int i = 0; i < MR; ++i) last[i] = ak[std::min(i, rows - 1)];
                ak = last;
            }
            const vec b0 = xsimd::load_aligned(bp), b1 = xsimd::load_aligned(bp + VL);
            for (int i = 0; i < MR; ++i) {
                const vec ai(ak[i]);
                acc[i][0] = xsimd::fma(ai, b0, acc[i][0]);
                acc[i][1] = xsimd::fma(ai, b1, acc[i][1]);
            }
        }
    } else {
        const float* ar[MR];
        for (int i = 0; i < MR; ++i) ar[i] = a + std::min(i, rows - 1) * a_rs;
        for (int k = 0; k < kc; ++k, bp += NR) {
            const long ko = k * a_cs;
            const vec b0 = xsimd::load_aligned(bp), b1 = xsimd::load_aligned(bp + VL);
            for (int i = 0; i < MR; ++i) {
                const vec ai(ar[i][ko]);
                acc[i][0] = xsimd::fma(ai, b0, acc[i][0]);
                acc[i][1] = xsimd::fma(ai, b1, acc[i][1]);
            }
        }
    }
    if (rows == MR && cols == NR) {
        for (int i = 0; i < MR; ++i) {
            float* ci = c + i * ldc;
            if (!overwrite) {
                acc[i][0] += xsimd::load_unaligned(ci);
                acc[i][1] += xsimd::load_unaligned(ci + VL);
            }
            xsimd::store_unaligned(ci, acc[i][0]);
            xsimd::store_unaligned(ci + VL, acc[i][1]);
        }
        return;
    }
    alignas(64) float tile[MR][NR];
    for (int i = 0; i < MR; ++i) {
        acc[i][0].store_aligned(tile[i]);
        acc[i][1].store_aligned(tile[i] + VL);
    }
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) c[i * ldc + j] = overwrite ? tile[i][j] : c[i * ldc + j] + tile[i][j];
}

// The whole loop nest for columns [n_begin, n_end) on the calling thread.
template <bool A_UNIT_ROWS>
void gemm_columns(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs, long b_cs,
                  int M, int K, int n_begin, int n_end, bool overwrite) {
    // Per-thread packing buffer, grown once and reused by every later call on this thread.
    thread_local std::vector<float, xsimd::aligned_allocator<float>> b_pack;
    if (b_pack.size() < (size_t)KC * NC) b_pack.resize((size_t)KC * NC);
    for (int n0 = n_begin; n0 < n_end; n0 += NC) {
        const int nc = std::min(NC, n_end - n0);
        for (int k0 = 0; k0 < K; k0 += KC) {
            const int kc = std::min(KC, K - k0);
            pack_b(b_pack.data(), b, b_rs, b_cs, k0, kc, n0, nc);
            for (int m0 = 0; m0 < M; m0 += MC)
                for (int j = 0; j < nc; j += NR)  // the packed B panel stays in L1 across MC rows
                    for (int i = m0; i < std::min(M, m0 + MC); i += MR)
                        micro_kernel<A_UNIT_ROWS>(kc, a + i * a_rs + (long)k0 * a_cs, a_rs, a_cs,
                                                  b_pack.data() + (long)j * kc, c + i * ldc + n0 + j, ldc,
                                                  std::min(MR, M - i), std::min(NR, nc - j), overwrite && k0 == 0);
        }
    }
}

}  // namespace gemm_detail

// Share `part` of `parts` of C += A . B (C = A . B when overwrite), on the calling thread: a
// contiguous range of NR-column panels, each computed over all of K, so the result does not
// depend on how it is shared.
void gemm_strided_share(float* c, long ldc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                        long b_cs, int M, int N, int K, bool overwrite, int part, int parts) {
    using namespace gemm_detail;
    if (M <= 0 || N <= 0 || K <= 0) return;
    const long panels = (N + NR - 1) / NR;
    const int p0 = (int)(panels * part / parts), p1 = (int)(panels * (part + 1) / parts);
    if (p0 >= p1) return;
    const int n0 = p0 * NR, n1 = std::min(N, p1 * NR);
    if (a_rs == 1) gemm_columns<true>(c, ldc, a, a_rs, a_cs, b, b_rs, b_cs, M, K, n0, n1, overwrite);
    else gemm_columns<false>(c, ldc, a, a_rs, a_cs, b, b_rs, b_cs, M, K, n0, n1, overwrite);
}

}  // namespace
}  // namespace lm
