// Integer GEMM for prompt processing with 32-element block weights (q8_0, q4_0, q5_0, q4_1)
// on AVX-512 VNNI. Block scales differ per block, so a plain kernel must convert and scale
// every 32 products; here 16 blocks are interleaved so that dword lane j of a register holds
// 4 codes of block j: 8 vpdpbusd leave the 16 whole block sums in one register, and the float
// work (convert, scale, accumulate) is done once per 16 blocks instead of once per block.
// Weights are repacked on the fly, a few rows at a time (the cost is shared by all tokens);
// activations (already quantized to q8_0 / q8_1 in ggml layout) are repacked once per call.
// Interleaved group layout: code byte 4i + b of block j sits at q[i][4j + b].
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "simd/kernels.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

constexpr int kGroup = 16;  // blocks per group
constexpr int kRows = 4, kCols = 4;

struct alignas(64) Group {
    uint8_t q[8][64];
    float d[kGroup];         // block scales (0 for padding blocks)
    float extra[kGroup];     // weights: q4_1 minimum m; activations: q8_1 s
    int32_t offset[kGroup];  // activations: code offset o * sum(codes), removed from the dot
};
static_assert(sizeof(Group) == 704);

// Dword i of each of 16 blocks of 32 codes at `first`, `stride` bytes apart -> q[i][lane].
inline void interleave(const uint8_t* first, int64_t stride, int blocks, Group* g) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i base = _mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int>(stride)));
    const __mmask16 valid = static_cast<__mmask16>((1u << blocks) - 1);
    for (int i = 0; i < 8; ++i) {
        const __m512i idx = _mm512_add_epi32(base, _mm512_set1_epi32(4 * i));
        const __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, idx, first, 1);
        _mm512_store_si512(g->q[i], v);
    }
}

// 32 nibbles in element order: low nibbles of qs[0..15], then high nibbles.
inline void unpack_nibbles(const uint8_t* qs, uint8_t* out) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)), m = _mm_set1_epi8(0x0F);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_and_si128(v, m));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm_and_si128(_mm_srli_epi16(v, 4), m));
}

// The unsigned codes of one weight block, in element order, and its code offset.
struct Q4_0Codes {
    static constexpr int kOffset = 8;
    static void get(const block_q4_0& b, uint8_t* out) { unpack_nibbles(b.qs, out); }
};
struct Q4_1Codes {
    static constexpr int kOffset = 0;
    static void get(const block_q4_1& b, uint8_t* out) { unpack_nibbles(b.qs, out); }
};
struct Q5_0Codes {
    static constexpr int kOffset = 16;
    static void get(const block_q5_0& b, uint8_t* out) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs)), m = _mm_set1_epi8(0x0F);
        uint32_t qh;
        std::memcpy(&qh, b.qh, 4);
        const __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                            _mm256_mask_add_epi8(q, _cvtu32_mask32(qh), q, _mm256_set1_epi8(16)));
    }
};
struct Q8_0Codes {
    static constexpr int kOffset = 128;  // signed codes read as unsigned: q + 128
    static void get(const block_q8_0& b, uint8_t* out) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_xor_si256(v, _mm256_set1_epi8(static_cast<char>(0x80))));
    }
};

template <class Block, class Codes>
void pack_weight_row(const Block* row, int64_t nb, Group* groups) {
    alignas(64) uint8_t codes[kGroup][32];
    for (int64_t g = 0; g * kGroup < nb; ++g) {
        const int blocks = static_cast<int>(std::min<int64_t>(kGroup, nb - g * kGroup));
        for (int j = 0; j < kGroup; ++j) {
            const Block* b = row + g * kGroup + j;
            if (j < blocks) Codes::get(*b, codes[j]);
            groups[g].d[j] = j < blocks ? f16_to_f32(b->d) : 0.f;
            if constexpr (std::is_same_v<Block, block_q4_1>) groups[g].extra[j] = j < blocks ? f16_to_f32(b->m) : 0.f;
        }
        interleave(codes[0], 32, blocks, &groups[g]);
    }
}

// Activations in ggml q8_0 / q8_1 layout -> groups, with o * sum(codes) and (q8_1) s.
template <class XBlock>
void pack_activation_row(const XBlock* row, int64_t nb, int offset, Group* groups) {
    for (int64_t g = 0; g * kGroup < nb; ++g) {
        const int blocks = static_cast<int>(std::min<int64_t>(kGroup, nb - g * kGroup));
        const XBlock* first = row + g * kGroup;
        interleave(reinterpret_cast<const uint8_t*>(first->qs), sizeof(XBlock), blocks, &groups[g]);
        for (int j = 0; j < kGroup; ++j) {
            int sum = 0;
            for (int l = 0; j < blocks && l < QK; ++l) sum += first[j].qs[l];
            groups[g].d[j] = j < blocks ? f16_to_f32(first[j].d) : 0.f;
            groups[g].offset[j] = offset * sum;
            groups[g].extra[j] = 0.f;
            if constexpr (std::is_same_v<XBlock, block_q8_1>) groups[g].extra[j] = j < blocks ? f16_to_f32(first[j].s) : 0.f;
        }
    }
}

// R weight rows x C activation rows over all groups. kMin: q4_1 (adds m * s).
template <int R, int C, int kOffset, bool kMin>
void micro(int64_t groups, const Group* const* w, const Group* const* x, float* y, int64_t ldy) {
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    for (int64_t g = 0; g < groups; ++g) {
        __m512i sum[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) sum[r][c] = _mm512_setzero_si512();
        for (int i = 0; i < 8; ++i) {
            __m512i yv[C];
            for (int c = 0; c < C; ++c) yv[c] = _mm512_load_si512(x[c][g].q[i]);
            for (int r = 0; r < R; ++r) {
                const __m512i wv = _mm512_load_si512(w[r][g].q[i]);
                for (int c = 0; c < C; ++c) sum[r][c] = _mm512_dpbusd_epi32(sum[r][c], wv, yv[c]);
            }
        }
        for (int r = 0; r < R; ++r) {
            const __m512 dw = _mm512_load_ps(w[r][g].d);
            for (int c = 0; c < C; ++c) {
                __m512i s = sum[r][c];
                if constexpr (kOffset != 0) s = _mm512_sub_epi32(s, _mm512_load_si512(x[c][g].offset));
                const __m512 scale = _mm512_mul_ps(dw, _mm512_load_ps(x[c][g].d));
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), scale, acc[r][c]);
                if constexpr (kMin) acc[r][c] = _mm512_fmadd_ps(_mm512_load_ps(w[r][g].extra), _mm512_load_ps(x[c][g].extra), acc[r][c]);
            }
        }
    }
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) y[c * ldy + r] = hsum512(acc[r][c]);
}

template <int R, int kOffset, bool kMin>
void micro_cols(int nc, int64_t groups, const Group* const* w, const Group* const* x, float* y, int64_t ldy) {
    switch (nc) {
        case 4: return micro<R, 4, kOffset, kMin>(groups, w, x, y, ldy);
        case 3: return micro<R, 3, kOffset, kMin>(groups, w, x, y, ldy);
        case 2: return micro<R, 2, kOffset, kMin>(groups, w, x, y, ldy);
        default: return micro<R, 1, kOffset, kMin>(groups, w, x, y, ldy);
    }
}

template <class Block, class Codes, class XBlock>
void qgemm(float* y, const void* wv, const void* xv, int64_t m, int64_t k, int n, int threads) {
    constexpr bool kMin = std::is_same_v<Block, block_q4_1>;
    const int64_t nb = k / QK, groups = (nb + kGroup - 1) / kGroup;
    thread_local std::vector<Group> x_packed;
    if (x_packed.size() < static_cast<size_t>(groups * n)) x_packed.resize(groups * n);
    Group* xp = x_packed.data();
    const Block* w = static_cast<const Block*>(wv);
    const XBlock* x = static_cast<const XBlock*>(xv);
    auto pack = [&](int id, int count) {
        for (int t = id; t < n; t += count) pack_activation_row(x + t * nb, nb, Codes::kOffset, xp + t * groups);
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
                pack_weight_row<Block, Codes>(w + (r0 + r) * nb, nb, w_packed.data() + r * groups);
                wr[r] = w_packed.data() + r * groups;
            }
            for (int c0 = 0; c0 < n; c0 += kCols) {
                const int nc = std::min(kCols, n - c0);
                const Group* xc[kCols];
                for (int c = 0; c < nc; ++c) xc[c] = xp + (c0 + c) * groups;
                float* out = y + c0 * m + r0;
                if (nr == kRows) micro_cols<kRows, Codes::kOffset, kMin>(nc, groups, wr, xc, out, m);
                else
                    for (int r = 0; r < nr; ++r) micro_cols<1, Codes::kOffset, kMin>(nc, groups, wr + r, xc, out + r, m);
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

QGemmFn avx512_qgemm(DType weight) {
    switch (weight) {
        case DType::Q8_0: return qgemm<block_q8_0, Q8_0Codes, block_q8_0>;
        case DType::Q4_0: return qgemm<block_q4_0, Q4_0Codes, block_q8_0>;
        case DType::Q5_0: return qgemm<block_q5_0, Q5_0Codes, block_q8_0>;
        case DType::Q4_1: return qgemm<block_q4_1, Q4_1Codes, block_q8_1>;
        default: return nullptr;
    }
}

}  // namespace lm::simd
