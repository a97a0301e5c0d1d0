// Integer GEMM formats for the k-quants (q4_K, q6_K against q8_K activations) on the engine
// in simd/qgemm.h. The sub-blocks are the k-quant's own (32 elements for q4_K, 16 for q6_K);
// each sub-block's float scale is d x its integer scale, and q4_K's minimum enters through
// `extra`: (-dmin m_j) x (dy sum of the activation codes of sub-block j).
#include "simd/qgemm.h"  // first: it sets up <immintrin.h>

#include <cstddef>
#include <cstring>

#include "simd/kernels.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

struct Q4_KFormat {
    using W = block_q4_K;
    using X = block_q8_K;
    static constexpr int kWeightBlock = QK_K, kActivationBlock = QK_K, kSteps = 8;
    static constexpr bool kOffset = false, kExtra = true;

    static int64_t groups(int64_t k) { return (k / QK_K + 1) / 2; }  // two super-blocks per group
    static bool half_tail(int64_t k) { return (k / QK_K) % 2 == 1; }

    static void pack_weights(const block_q4_K* row, int64_t k, Group* groups) {
        const int64_t nsb = k / QK_K;
        const __m256i nibble = _mm256_set1_epi8(0x0F);
        alignas(64) uint8_t codes[kGroup][32];
        for (int64_t g = 0; g < (nsb + 1) / 2; ++g) {
            const int supers = static_cast<int>(std::min<int64_t>(2, nsb - 2 * g));
            for (int h = 0; h < 2; ++h) {
                const block_q4_K& b = row[2 * g + (h < supers ? h : 0)];
                for (int j = 0; j < 8; ++j) {
                    uint8_t sc, m;
                    q4_K_scale_min(j, b.scales, &sc, &m);
                    groups[g].d[8 * h + j] = h < supers ? _cvtsh_ss(b.d) * sc : 0.f;
                    groups[g].extra[8 * h + j] = h < supers ? -_cvtsh_ss(b.dmin) * m : 0.f;
                }
                if (h >= supers) std::memset(codes[8 * h], 0, 8 * 32);
                for (int c = 0; h < supers && c < 4; ++c) {  // chunk c: sub-blocks 2c (low), 2c+1 (high)
                    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * c));
                    _mm256_store_si256(reinterpret_cast<__m256i*>(codes[8 * h + 2 * c]), _mm256_and_si256(v, nibble));
                    _mm256_store_si256(reinterpret_cast<__m256i*>(codes[8 * h + 2 * c + 1]),
                                       _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble));
                }
            }
            interleave32(codes, &groups[g]);
        }
    }

    static void pack_weights_packed(const uint8_t* group, int r, int64_t k, Group* groups) {
        pack_unpacked_row<Q4_KFormat>(group, r, k, groups);
    }

    // Lane j: super-block j / 8, sub-block j % 8.
    static void pack_activations(const block_q8_K* row, int64_t k, Group* groups) {
        const int64_t nsb = k / QK_K;
        const __m512i lane = lane_index();
        const __m512i offsets =
            _mm512_add_epi32(_mm512_mullo_epi32(_mm512_srli_epi32(lane, 3), _mm512_set1_epi32(sizeof(block_q8_K))),
                             _mm512_add_epi32(_mm512_set1_epi32(offsetof(block_q8_K, qs)),
                                              _mm512_slli_epi32(_mm512_and_si512(lane, _mm512_set1_epi32(7)), 5)));
        for (int64_t g = 0; g < (nsb + 1) / 2; ++g) {
            const int supers = static_cast<int>(std::min<int64_t>(2, nsb - 2 * g));
            interleave(row + 2 * g, offsets, 8 * supers, kSteps, &groups[g]);
            for (int j = 0; j < kGroup; ++j) {
                const bool valid = j / 8 < supers;
                const block_q8_K& b = row[2 * g + (valid ? j / 8 : 0)];
                const int s = j % 8;
                groups[g].d[j] = valid ? b.d : 0.f;
                groups[g].extra[j] = valid ? b.d * static_cast<float>(b.bsums[2 * s] + b.bsums[2 * s + 1]) : 0.f;
                groups[g].offset[j] = 0;
            }
        }
    }
};

struct Q6_KFormat {
    using W = block_q6_K;
    using X = block_q8_K;
    static constexpr int kWeightBlock = QK_K, kActivationBlock = QK_K, kSteps = 4;
    static constexpr bool kOffset = true, kExtra = false;

    static int64_t groups(int64_t k) { return k / QK_K; }  // one super-block of 16 sub-blocks
    static bool half_tail(int64_t) { return false; }

    // The 256 codes (0..63) in element order; layout as in dequantize_row_q6_K.
    static void unpack(const block_q6_K& b, uint8_t* out) {
        const __m512i nibble = _mm512_set1_epi8(0x0F), top = _mm512_set1_epi8(0x30);
        const __m512i shift_low = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
        const __m512i shift_high = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
        for (int h = 0; h < 2; ++h) {
            const __m512i low = _mm512_loadu_si512(b.ql + 64 * h);
            const __m512i high =
                _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h)));
            const __m512i q0 = _mm512_or_si512(_mm512_and_si512(low, nibble),
                                               _mm512_and_si512(_mm512_sllv_epi16(high, shift_low), top));
            const __m512i q1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(low, 4), nibble),
                                               _mm512_and_si512(_mm512_srlv_epi16(high, shift_high), top));
            _mm512_storeu_si512(out + 128 * h, q0);
            _mm512_storeu_si512(out + 128 * h + 64, q1);
        }
    }

    static void pack_weights(const block_q6_K* row, int64_t k, Group* groups) {
        alignas(64) uint8_t codes[QK_K];
        const __m512i offsets = _mm512_slli_epi32(lane_index(), 4);
        for (int64_t g = 0; g < k / QK_K; ++g) {
            unpack(row[g], codes);
            interleave(codes, offsets, kGroup, kSteps, &groups[g]);
            const float d = f16_to_f32(row[g].d);
            for (int j = 0; j < kGroup; ++j) groups[g].d[j] = d * row[g].scales[j];
        }
    }

    static void pack_weights_packed(const uint8_t* group, int r, int64_t k, Group* groups) {
        pack_unpacked_row<Q6_KFormat>(group, r, k, groups);
    }

    // (q - 32) y summed = q y summed - 32 x (the 16-element sums q8_K keeps in bsums).
    static void pack_activations(const block_q8_K* row, int64_t k, Group* groups) {
        const __m512i offsets =
            _mm512_add_epi32(_mm512_slli_epi32(lane_index(), 4), _mm512_set1_epi32(offsetof(block_q8_K, qs)));
        for (int64_t g = 0; g < k / QK_K; ++g) {
            interleave(row + g, offsets, kGroup, kSteps, &groups[g]);
            for (int j = 0; j < kGroup; ++j) {
                groups[g].d[j] = row[g].d;
                groups[g].extra[j] = 0.f;
                groups[g].offset[j] = -32 * row[g].bsums[j];
            }
        }
    }
};

}  // namespace

QGemmFn avx512_k_qgemm(DType weight) {
    switch (weight) {
        case DType::Q4_K: return qgemm<Q4_KFormat>;
        case DType::Q6_K: return qgemm<Q6_KFormat>;
        default: return nullptr;
    }
}

}  // namespace lm::simd
