// Integer GEMM formats for the 32-element block types (q8_0, q4_0, q5_0 against q8_0
// activations; q4_1 against q8_1) on the engine in simd/qgemm.h: one sub-block per ggml block.
#include "simd/qgemm.h"  // first: it sets up <immintrin.h>

#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "simd/kernels.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

// 32 nibbles in element order: low nibbles of qs[0..15], then high nibbles.
inline void unpack_nibbles(__m128i v, uint8_t* out) {
    const __m128i m = _mm_set1_epi8(0x0F);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_and_si128(v, m));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm_and_si128(_mm_srli_epi16(v, 4), m));
}
inline void unpack_nibbles(const uint8_t* qs, uint8_t* out) {
    unpack_nibbles(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)), out);
}

// The 4 words of row r in the packed block at p (simd/repack.h: 64 bytes apart): qs of q4_*.
inline __m128i packed_qs16(const uint8_t* p, int r) {
    return _mm_i32gather_epi32(reinterpret_cast<const int*>(p + 4 * r), _mm_setr_epi32(0, 64, 128, 192), 1);
}

// The unsigned codes of one weight block, in element order, and the offset subtracted from
// them: from ggml's block (get) or from row r of a packed block (get_packed).
struct Q4_0Codes {
    static constexpr int kOffset = 8;
    static void get(const block_q4_0& b, uint8_t* out) { unpack_nibbles(b.qs, out); }
    static void get_packed(const uint8_t* p, int r, uint8_t* out) { unpack_nibbles(packed_qs16(p, r), out); }
};
struct Q4_1Codes {
    static constexpr int kOffset = 0;
    static void get(const block_q4_1& b, uint8_t* out) { unpack_nibbles(b.qs, out); }
    static void get_packed(const uint8_t* p, int r, uint8_t* out) { unpack_nibbles(packed_qs16(p, r), out); }
};
struct Q5_0Codes {
    static constexpr int kOffset = 16;
    static void get(const block_q5_0& b, uint8_t* out) {
        uint32_t qh;
        std::memcpy(&qh, b.qh, 4);
        with_fifth_bits(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs)), qh, out);
    }
    static void get_packed(const uint8_t* p, int r, uint8_t* out) {
        block_q5_0 b;  // only qh is used
        Packed<block_q5_0>::unpack(p, r, &b);
        uint32_t qh;
        std::memcpy(&qh, b.qh, 4);
        with_fifth_bits(packed_qs16(p, r), qh, out);
    }
    static void with_fifth_bits(__m128i qs, uint32_t qh, uint8_t* out) {
        const __m128i m = _mm_set1_epi8(0x0F);
        const __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(qs, 4), m), _mm_and_si128(qs, m));
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
    static void get_packed(const uint8_t* p, int r, uint8_t* out) {  // stored as q + 128 already
        const __m256i idx = _mm256_setr_epi32(0, 64, 128, 192, 256, 320, 384, 448);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                            _mm256_i32gather_epi32(reinterpret_cast<const int*>(p + 4 * r), idx, 1));
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

    // block(b, codes) writes block b's codes and returns its d and (q4_1) m.
    template <class BlockAt>
    static void pack_weights_from(BlockAt block, int64_t k, Group* groups) {
        const int64_t nb = k / QK;
        alignas(64) uint8_t codes[kGroup][QK];
        for (int64_t g = 0; g * kGroup < nb; ++g) {
            const int count = static_cast<int>(std::min<int64_t>(kGroup, nb - g * kGroup));
            for (int j = 0; j < kGroup; ++j) {
                float d = 0.f, m = 0.f;
                if (j < count) std::tie(d, m) = block(g * kGroup + j, codes[j]);
                else std::memset(codes[j], 0, QK);
                groups[g].d[j] = d;
                groups[g].extra[j] = m;
            }
            interleave32(codes, &groups[g]);
        }
    }

    static void pack_weights(const Block* row, int64_t k, Group* groups) {
        pack_weights_from(
            [row](int64_t b, uint8_t* codes) {
                Codes::get(row[b], codes);
                if constexpr (kExtra) return std::pair(_cvtsh_ss(row[b].d), _cvtsh_ss(row[b].m));
                else return std::pair(_cvtsh_ss(row[b].d), 0.f);
            },
            k, groups);
    }

    // Row r of 16 in the packed group (simd/repack.h), read in place.
    static void pack_weights_packed(const uint8_t* group, int r, int64_t k, Group* groups) {
        using P = Packed<Block>;
        pack_weights_from(
            [group, r](int64_t b, uint8_t* codes) {
                const uint8_t* p = group + b * P::kBytes;
                Codes::get_packed(p, r, codes);
                if constexpr (kExtra) return std::pair(_cvtsh_ss(packed::get_fp16(p + P::kDAt, r)),
                                                       _cvtsh_ss(packed::get_fp16(p + P::kMAt, r)));
                else return std::pair(_cvtsh_ss(packed::get_fp16(p + P::kDAt, r)), 0.f);
            },
            k, groups);
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
