// Integer GEMM formats for the 32-element block types (q8_0, q4_0, q5_0 against q8_0
// activations; q4_1 against q8_1) on the engine in simd/qgemm.h: one sub-block per ggml block.
#include "simd/qgemm.h"  // first: it sets up <immintrin.h>

#include <cstring>
#include <type_traits>

#include "simd/kernels.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

// 32 nibbles in element order: low nibbles of qs[0..15], then high nibbles.
inline void unpack_nibbles(const uint8_t* qs, uint8_t* out) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)), m = _mm_set1_epi8(0x0F);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_and_si128(v, m));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm_and_si128(_mm_srli_epi16(v, 4), m));
}

// The unsigned codes of one weight block, in element order, and the offset subtracted from them.
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
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                            _mm256_xor_si256(v, _mm256_set1_epi8(static_cast<char>(0x80))));
    }
};

template <class Block, class Codes, class XBlock>
struct BlockFormat {
    using W = Block;
    using X = XBlock;
    static constexpr int kWeightBlock = QK, kActivationBlock = QK, kSteps = 8;
    static constexpr bool kOffset = Codes::kOffset != 0, kExtra = std::is_same_v<Block, block_q4_1>;

    static int64_t groups(int64_t k) { return (k / QK + kGroup - 1) / kGroup; }
    static bool half_tail(int64_t k) { return (k / QK) % kGroup == kGroup / 2; }

    static void pack_weights(const Block* row, int64_t k, Group* groups) {
        const int64_t nb = k / QK;
        alignas(64) uint8_t codes[kGroup][QK];
        for (int64_t g = 0; g * kGroup < nb; ++g) {
            const int count = static_cast<int>(std::min<int64_t>(kGroup, nb - g * kGroup));
            for (int j = 0; j < kGroup; ++j) {
                const Block* b = row + g * kGroup + j;
                if (j < count) Codes::get(*b, codes[j]);
                else std::memset(codes[j], 0, QK);
                groups[g].d[j] = j < count ? _cvtsh_ss(b->d) : 0.f;
                if constexpr (kExtra) groups[g].extra[j] = j < count ? _cvtsh_ss(b->m) : 0.f;
            }
            interleave32(codes, &groups[g]);
        }
    }

    // d, -o x sum(codes) and (q8_1) s per block.
    static void pack_activations(const XBlock* row, int64_t k, Group* groups) {
        const int64_t nb = k / QK;
        alignas(64) uint8_t codes[kGroup][QK];
        for (int64_t g = 0; g * kGroup < nb; ++g) {
            const int count = static_cast<int>(std::min<int64_t>(kGroup, nb - g * kGroup));
            const XBlock* first = row + g * kGroup;
            for (int j = 0; j < kGroup; ++j) {
                if (j < count) std::memcpy(codes[j], first[j].qs, QK);
                else std::memset(codes[j], 0, QK);
            }
            interleave32(codes, &groups[g]);
            for (int j = 0; j < kGroup; ++j) {
                int sum = 0;
                for (int l = 0; j < count && l < QK; ++l) sum += first[j].qs[l];
                groups[g].d[j] = j < count ? _cvtsh_ss(first[j].d) : 0.f;
                groups[g].offset[j] = -Codes::kOffset * sum;
                groups[g].extra[j] = 0.f;
                if constexpr (kExtra) groups[g].extra[j] = j < count ? _cvtsh_ss(first[j].s) : 0.f;
            }
        }
    }
};

}  // namespace

QGemmFn avx512_k_qgemm(DType weight);

QGemmFn avx512_qgemm(DType weight) {
    switch (weight) {
        case DType::Q8_0: return qgemm<BlockFormat<block_q8_0, Q8_0Codes, block_q8_0>>;
        case DType::Q4_0: return qgemm<BlockFormat<block_q4_0, Q4_0Codes, block_q8_0>>;
        case DType::Q5_0: return qgemm<BlockFormat<block_q5_0, Q5_0Codes, block_q8_0>>;
        case DType::Q4_1: return qgemm<BlockFormat<block_q4_1, Q4_1Codes, block_q8_1>>;
        default: return avx512_k_qgemm(weight);
    }
}

}  // namespace lm::simd
