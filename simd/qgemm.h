// The integer GEMM engine for block-quantized weights on AVX-512 VNNI (prompt processing).
// Block scales differ per block, so a plain kernel must convert and scale every 32 products;
// here 16 sub-blocks are interleaved so that dword lane j of a register holds 4 codes of
// sub-block j: kSteps vpdpbusd leave the 16 whole sub-block sums in one register, and the
// float work (convert, scale, accumulate) is done once per 16 sub-blocks instead of per block.
// A Format (qgemm_avx512.cpp: the 32-element types, qgemm_k_avx512.cpp: the k-quants) says
// how its weight rows and activation rows are unpacked into these groups. Weights are
// repacked on the fly, 4 rows at a time (the cost is shared by all tokens), from ggml's layout
// or from the load-time packed copy (simd/repack.h); activations, already quantized to the
// weight's ggml activation type, are repacked once per call.
// Interleaved layout: code byte 4i + b of sub-block j sits at q[i][4j + b].
// Internal linkage: included by the AVX-512 files only.
#pragma once
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "simd/packed_blocks.h"
#include "simd/repack.h"

namespace lm::simd {
namespace {

constexpr int kGroup = 16;  // sub-blocks per group
constexpr int kRows = 4, kCols = 3;  // 24 accumulators + 4 operands: no spills

struct alignas(64) Group {
    uint8_t q[8][64];        // codes, interleaved (steps beyond the format's kSteps unused)
    float d[kGroup];         // scales, 0 for padding sub-blocks
    float extra[kGroup];     // weights x activations added per sub-block (q4_1: m x s; q4_K: -dmin m x d sum)
    int32_t offset[kGroup];  // activations: -(code offset o x sum(codes)), where each dot starts
};
static_assert(sizeof(Group) == 704);

inline __m512i lane_index() { return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }

// Dword i (i < steps) of `count` sub-blocks whose codes start at base + byte offsets[j] ->
// q[i][lane j]; lanes past count are zero.
inline void interleave(const void* base, __m512i offsets, int count, int steps, Group* g) {
    const __mmask16 valid = static_cast<__mmask16>((1u << count) - 1);
    for (int i = 0; i < steps; ++i) {
        const __m512i idx = _mm512_add_epi32(offsets, _mm512_set1_epi32(4 * i));
        _mm512_store_si512(g->q[i], _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, idx, base, 1));
    }
}

// The same for 16 sub-blocks of 32 codes in a contiguous [16][32] buffer (rows past the
// real ones zeroed by the caller): a 16 x 8 dword transpose in three rounds of two-source
// permutes, far cheaper than eight gathers. Register z[k] holds sub-blocks 2k (dwords 0-7)
// and 2k + 1 (dwords 8-15).
inline void interleave32(const uint8_t (*codes)[32], Group* g) {
    __m512i z[8], a[8], e[8];
    for (int k = 0; k < 8; ++k) z[k] = _mm512_load_si512(codes[2 * k]);
    // a[2p], a[2p+1]: sub-blocks 4p..4p+3 at dwords 0-3 / 4-7, element 4c + r = (sub-block 4p + r, dword c)
    alignas(64) int32_t lo[16], hi[16];
    for (int c = 0; c < 4; ++c)
        for (int r = 0; r < 4; ++r) {
            lo[4 * c + r] = (r / 2) * 16 + (r % 2) * 8 + c;
            hi[4 * c + r] = (r / 2) * 16 + (r % 2) * 8 + c + 4;
        }
    const __m512i idx_lo = _mm512_load_si512(lo), idx_hi = _mm512_load_si512(hi);
    for (int p = 0; p < 4; ++p) {
        a[2 * p] = _mm512_permutex2var_epi32(z[2 * p], idx_lo, z[2 * p + 1]);
        a[2 * p + 1] = _mm512_permutex2var_epi32(z[2 * p], idx_hi, z[2 * p + 1]);
    }
    // e[4h + 2q + t]: sub-blocks 8h..8h+7, dwords 4q + 2t, 4q + 2t + 1 at element 8c + r
    alignas(64) int32_t first[16], second[16];
    for (int c = 0; c < 2; ++c)
        for (int r = 0; r < 8; ++r) {
            first[8 * c + r] = (r < 4 ? 0 : 16) + 4 * c + r % 4;
            second[8 * c + r] = (r < 4 ? 0 : 16) + 4 * (c + 2) + r % 4;
        }
    const __m512i idx_first = _mm512_load_si512(first), idx_second = _mm512_load_si512(second);
    for (int h = 0; h < 2; ++h)
        for (int q = 0; q < 2; ++q) {
            const __m512i x = a[4 * h + q], y = a[4 * h + 2 + q];  // sub-blocks 8h..+3 and 8h+4..+7
            e[4 * h + 2 * q] = _mm512_permutex2var_epi32(x, idx_first, y);
            e[4 * h + 2 * q + 1] = _mm512_permutex2var_epi32(x, idx_second, y);
        }
    // dword i of all 16 sub-blocks: the matching halves of e for sub-blocks 0-7 and 8-15
    for (int i = 0; i < 8; ++i) {
        const __m512i x = e[i / 2], y = e[4 + i / 2];
        _mm512_store_si512(g->q[i], i % 2 ? _mm512_shuffle_i64x2(x, y, 0xEE) : _mm512_shuffle_i64x2(x, y, 0x44));
    }
}

// A last group whose lanes 8-15 are padding (8 real sub-blocks) is folded so that half the
// steps cover it: step i then holds dwords 2i (lanes 0-7) and 2i + 1 (lanes 8-15). The two
// halves of each dot are added before the float work, whose lanes 8-15 have zero scales.
// (Rows of 24 blocks, k = 768 as in stories110M, would otherwise waste a quarter of the work.)
inline void fold_half(Group* g, int steps) {
    for (int i = 0; i < steps / 2; ++i)
        _mm512_store_si512(g->q[i], _mm512_inserti64x4(_mm512_load_si512(g->q[2 * i]),
                                                       _mm512_castsi512_si256(_mm512_load_si512(g->q[2 * i + 1])), 1));
}

// pack_weights_packed for formats that read packed rows as ggml's blocks: the whole row is
// unpacked first, so its blocks are read back from L1 rather than from pending stores.
template <class F>
void pack_unpacked_row(const uint8_t* group, int r, int64_t k, Group* groups) {
    using W = typename F::W;
    thread_local std::vector<W> row;
    const int64_t blocks = k / F::kWeightBlock;
    if (row.size() < static_cast<size_t>(blocks)) row.resize(blocks);
    for (int64_t b = 0; b < blocks; ++b) Packed<W>::unpack(group + b * Packed<W>::kBytes, r, &row[b]);
    F::pack_weights(row.data(), k, groups);
}

// R weight rows x C activation rows over all groups; with half_tail the last group is folded.
template <int R, int C, class F>
void micro(int64_t groups, bool half_tail, const Group* const* w, const Group* const* x, float* y, int64_t ldy) {
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    for (int64_t g = 0; g < groups; ++g) {
        const bool folded = half_tail && g == groups - 1;
        __m512i sum[R][C];  // starting at -offset removes the code offset at no cost
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c)
                sum[r][c] = F::kOffset ? _mm512_load_si512(x[c][g].offset) : _mm512_setzero_si512();
        for (int i = 0; i < (folded ? F::kSteps / 2 : F::kSteps); ++i) {
            __m512i yv[C];
            for (int c = 0; c < C; ++c) yv[c] = _mm512_load_si512(x[c][g].q[i]);
            for (int r = 0; r < R; ++r) {
                const __m512i wv = _mm512_load_si512(w[r][g].q[i]);
                for (int c = 0; c < C; ++c) sum[r][c] = _mm512_dpbusd_epi32(sum[r][c], wv, yv[c]);
            }
        }
        if (folded)
            for (int r = 0; r < R; ++r)
                for (int c = 0; c < C; ++c)
                    sum[r][c] = _mm512_add_epi32(sum[r][c], _mm512_shuffle_i64x2(sum[r][c], sum[r][c], 0xEE));
        for (int r = 0; r < R; ++r) {
            const __m512 dw = _mm512_load_ps(w[r][g].d);
            for (int c = 0; c < C; ++c) {
                const __m512 scale = _mm512_mul_ps(dw, _mm512_load_ps(x[c][g].d));
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[r][c]), scale, acc[r][c]);
                if constexpr (F::kExtra)
                    acc[r][c] =
                        _mm512_fmadd_ps(_mm512_load_ps(w[r][g].extra), _mm512_load_ps(x[c][g].extra), acc[r][c]);
            }
        }
    }
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) y[c * ldy + r] = hsum512(acc[r][c]);
}

template <int R, class F>
void micro_cols(int nc, int64_t groups, bool half_tail, const Group* const* w, const Group* const* x, float* y,
                int64_t ldy) {
    switch (nc) {
        case 3: return micro<R, 3, F>(groups, half_tail, w, x, y, ldy);
        case 2: return micro<R, 2, F>(groups, half_tail, w, x, y, ldy);
        default: return micro<R, 1, F>(groups, half_tail, w, x, y, ldy);
    }
}

// F: W, X (block types) of kWeightBlock / kActivationBlock elements, kSteps (8 for 32-element
// sub-blocks, 4 for 16), kOffset, kExtra, groups(k), half_tail(k) (the last group holds only
// sub-blocks 0-7: fold it), pack_weights(row, k, groups), pack_weights_packed(group, r, k,
// groups) (row r of a 16-row packed group, simd/repack.h) and pack_activations(row, k, groups).
template <class F>
void qgemm(float* y, const void* wv, bool packed, const void* xv, int64_t m, int64_t k, int n, int threads) {
    using W = typename F::W;
    using X = typename F::X;
    const int64_t groups = F::groups(k);
    const bool half_tail = F::half_tail(k);
    const int64_t w_blocks = k / F::kWeightBlock, x_blocks = k / F::kActivationBlock;  // per row
    const size_t group_bytes = Packed<W>::kBytes * w_blocks;  // of 16 packed rows
    thread_local std::vector<Group> x_packed;
    if (x_packed.size() < static_cast<size_t>(groups * n)) x_packed.resize(groups * n);
    Group* xp = x_packed.data();
    const W* w = static_cast<const W*>(wv);
    const X* x = static_cast<const X*>(xv);
    auto pack = [&](int id, int count) {
        for (int t = id; t < n; t += count) {
            F::pack_activations(x + t * x_blocks, k, xp + t * groups);
            if (half_tail) fold_half(xp + t * groups + groups - 1, F::kSteps);
        }
    };
    auto compute = [&](int id, int count) {
        thread_local std::vector<Group> w_packed;
        if (w_packed.size() < static_cast<size_t>(groups * kRows)) w_packed.resize(groups * kRows);
        const int64_t row_blocks = (m + kRows - 1) / kRows;
        for (int64_t b = row_blocks * id / count; b < row_blocks * (id + 1) / count; ++b) {
            const int64_t r0 = b * kRows;
            const int nr = static_cast<int>(std::min<int64_t>(kRows, m - r0));
            const Group* wr[kRows];
            for (int r = 0; r < nr; ++r) {
                const int64_t row = r0 + r;
                if (packed)
                    F::pack_weights_packed(static_cast<const uint8_t*>(wv) + row / kPackedRows * group_bytes,
                                           static_cast<int>(row % kPackedRows), k, w_packed.data() + r * groups);
                else
                    F::pack_weights(w + row * w_blocks, k, w_packed.data() + r * groups);
                if (half_tail) fold_half(w_packed.data() + r * groups + groups - 1, F::kSteps);
                wr[r] = w_packed.data() + r * groups;
            }
            for (int c0 = 0; c0 < n; c0 += kCols) {
                const int nc = std::min(kCols, n - c0);
                const Group* xc[kCols];
                for (int c = 0; c < nc; ++c) xc[c] = xp + (c0 + c) * groups;
                float* out = y + c0 * m + r0;
                if (nr == kRows)
                    micro_cols<kRows, F>(nc, groups, half_tail, wr, xc, out, m);
                else
                    for (int r = 0; r < nr; ++r) micro_cols<1, F>(nc, groups, half_tail, wr + r, xc, out + r, m);
            }
        }
    };
    if (threads <= 1) {
        pack(0, 1);
        compute(0, 1);
        return;
    }
#pragma omp parallel num_threads(threads)
    {
        pack(omp_get_thread_num(), omp_get_num_threads());
#pragma omp barrier
        compute(omp_get_thread_num(), omp_get_num_threads());
    }
}

}  // namespace
}  // namespace lm::simd
