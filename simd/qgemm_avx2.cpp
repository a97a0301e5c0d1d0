// The integer GEMM for block-quantized weights on AVX2 (prompt processing): simd/qgemm.h's
// design on 8 dword lanes. A group holds 8 blocks (the k-quants: 8 of their sub-blocks), lane
// j the codes of block j, so that the integer sums of 8 blocks end in one register and the
// float work (convert, scale, accumulate) is done once per group. AVX2 has no vpdpbusd;
// vpmaddubsw multiplies unsigned by signed bytes into 16-bit pair sums, which it saturates,
// and vpmaddwd by ones widens them. Nothing saturates here, since activation codes (q8_0,
// q8_1, q8_K) are -127..127:
//   - 4-bit codes (q4_0, q4_1, q4_K: 0..15, an offset subtracted through the activations'
//     code sums): a pair is at most 2 x 15 x 127 = 3810, so the 8 steps of a group (30480)
//     add up in 16 bits and are widened once: one multiply per 32 products.
//   - q6_K (0..63, offset 32): a pair is at most 2 x 63 x 127 = 16002, widened at every step.
//   - q8_0 (-128..127), the sign trick: |w| as the unsigned side, the activations given w's
//     sign (vpsignb); a pair is at most 2 x 128 x 127 = 32512, widened at every step:
//     vpsignb, vpmaddubsw, vpmaddwd per 32 products (+ vpabsb per weight register).
//     Widening the codes to 16 bits at packing instead (two vpmaddwd per 32 products, nothing
//     to sign) measured the same on Zen 3 (stories110M / tinyllama shapes, n = 128): both
//     issue ~4 instructions per 32 products, and q8_0 runs at ~60 % of q4_0's speed either way.
// Weights are packed per call, 16 rows at a time (a group of the load-time packed copy,
// simd/repack.h, or 16 rows of ggml's layout); activations once per call. Each panel of 16
// rows then meets the tokens kCols at a time, kRows rows per micro-kernel, so the tokens'
// groups are read from L1 for the whole panel.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "simd/kernels.h"
#include "simd/packed_blocks.h"
#include "simd/repack.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

constexpr int kLanes = 8;            // blocks per group
constexpr int kRows = 4, kCols = 2;  // 8 int32 sums + 2 activation + 4 weight/temporary registers

// Step i, lane j: 4 codes of the block lane j holds (see fill_group).
struct alignas(32) Group {
    uint8_t q[8][32];
    float d[kLanes];         // scales, 0 for padding lanes
    float extra[kLanes];     // weights x activations added per lane (q4_1: m x s)
    int32_t offset[kLanes];  // activations: -(code offset o x sum of the lane's codes)
};
static_assert(sizeof(Group) == 352);

// A row's last group may hold fewer blocks: then each block is spread over `lanes` lanes
// (count x lanes <= 8, lanes a power of two) and the group takes 8 / lanes steps instead of
// 8, which matters for short rows (k = 288, stories15M: 9 blocks would take 16 steps, not 9).
inline int lanes_per_block(int count) { return count > 4 ? 1 : count > 2 ? 2 : count == 2 ? 4 : 8; }
inline int steps_of(int count) { return 8 / lanes_per_block(count); }

// v[j] -> v[i]: dword i of v[j] becomes dword j of v[i] (an 8 x 8 transpose).
inline void transpose8(__m256i* v) {
    __m256i t[8], u[8];
    for (int j = 0; j < 8; j += 2) {  // t[j]: dwords 0, 1 | 4, 5 of v[j], v[j+1] interleaved; t[j+1]: 2, 3 | 6, 7
        t[j] = _mm256_unpacklo_epi32(v[j], v[j + 1]);
        t[j + 1] = _mm256_unpackhi_epi32(v[j], v[j + 1]);
    }
    for (int h = 0; h < 8; h += 4) {  // u[h + i]: dword i | 4 + i of v[h..h+3]
        u[h] = _mm256_unpacklo_epi64(t[h], t[h + 2]);
        u[h + 1] = _mm256_unpackhi_epi64(t[h], t[h + 2]);
        u[h + 2] = _mm256_unpacklo_epi64(t[h + 1], t[h + 3]);
        u[h + 3] = _mm256_unpackhi_epi64(t[h + 1], t[h + 3]);
    }
    for (int i = 0; i < 4; ++i) {
        v[i] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x20);
        v[4 + i] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x31);
    }
}

// The lanes' scales for `count` blocks with d and e each: every lane gets its block's d; e
// goes to the first lane of its block only (extra_once: weights, whose e x the activations'
// e would otherwise be added once per lane) or to all of them.
inline void set_scales(int count, const float* d, const float* e, bool extra_once, Group* g) {
    const int lanes = lanes_per_block(count);
    for (int j = 0; j < kLanes; ++j) {
        const int b = j / lanes;
        g->d[j] = b < count ? d[b] : 0.f;
        g->extra[j] = b < count && (!extra_once || j % lanes == 0) ? e[b] : 0.f;
        g->offset[j] = 0;
    }
}

// Steps 0..steps-1 of a group: lane j < used holds dwords steps x j .. steps x j + steps - 1
// of the codes; the other lanes are zero.
inline void interleave(const uint8_t* codes, int steps, int used, Group* g) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i valid = _mm256_cmpgt_epi32(_mm256_set1_epi32(used), lane);
    const __m256i at = _mm256_mullo_epi32(lane, _mm256_set1_epi32(4 * steps));
    for (int i = 0; i < steps; ++i)
        _mm256_store_si256(reinterpret_cast<__m256i*>(g->q[i]),
                           _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), reinterpret_cast<const int*>(codes),
                                                       _mm256_add_epi32(at, _mm256_set1_epi32(4 * i)), valid, 1));
}

// A group from `count` blocks of 32 codes (at codes, block after block): lane j holds dwords
// steps x j .. steps x j + steps - 1 of the codes, that is part j % lanes of block j / lanes.
inline void fill_group(const uint8_t* codes, int count, const float* d, const float* e, bool extra_once, Group* g) {
    set_scales(count, d, e, extra_once, g);
    if (count == kLanes) {
        __m256i v[8];
        for (int j = 0; j < 8; ++j) v[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + 32 * j));
        transpose8(v);
        for (int i = 0; i < 8; ++i) _mm256_store_si256(reinterpret_cast<__m256i*>(g->q[i]), v[i]);
        return;
    }
    interleave(codes, steps_of(count), count * lanes_per_block(count), g);
}

// offset = -o x the sum of each lane's (activation) codes.
inline void code_sums(int o, int steps, Group* g) {
    __m256i sum = _mm256_setzero_si256();
    for (int i = 0; i < steps; ++i) {
        const __m256i q = _mm256_load_si256(reinterpret_cast<const __m256i*>(g->q[i]));
        sum = _mm256_add_epi32(sum,
                               _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1)));
    }
    _mm256_store_si256(reinterpret_cast<__m256i*>(g->offset), _mm256_mullo_epi32(sum, _mm256_set1_epi32(-o)));
}

// 32 nibbles in element order: low nibbles of the 16 bytes, then high nibbles.
inline void unpack_nibbles(__m128i v, uint8_t* out) {
    const __m128i m = _mm_set1_epi8(0x0F);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_and_si128(v, m));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm_and_si128(_mm_srli_epi16(v, 4), m));
}

// The 4 words of row r in the packed block at p (simd/repack.h: 64 bytes apart): qs of q4_*.
inline __m128i packed_qs16(const uint8_t* p, int r) {
    return _mm_i32gather_epi32(reinterpret_cast<const int*>(p + 4 * r), _mm_setr_epi32(0, 64, 128, 192), 1);
}

// Codes 4i..4i+3 of rows 8 half .. 8 half + 7 of the packed q4_* block at p, one row a dword.
inline __m256i packed_nibbles(const uint8_t* p, int half, int i) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64 * (i % 4) + 32 * half));
    return _mm256_and_si256(i < 4 ? v : _mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F));
}

// The codes of one weight block, in element order, from ggml's block (get) or from row r of
// a packed block (get_packed), and codes 4i..4i+3 of 8 rows of a packed block, one row a
// dword (step); kOffset is subtracted from them, kSigned: signed codes (the sign trick).
template <class Block, int Offset>  // q4_0: codes 0..15 stand for -8..7; q4_1: the minimum is added apart
struct NibbleCodes {
    static constexpr int kOffset = Offset;
    static constexpr bool kSigned = false;
    static __m256i step(const uint8_t* p, int half, int i) { return packed_nibbles(p, half, i); }
    static void get(const Block& b, uint8_t* out) {
        unpack_nibbles(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs)), out);
    }
    static void get_packed(const uint8_t* p, int r, uint8_t* out) { unpack_nibbles(packed_qs16(p, r), out); }
};
struct Q8_0Codes {
    static constexpr int kOffset = 0;
    static constexpr bool kSigned = true;
    static __m256i step(const uint8_t* p, int half, int i) {
        return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64 * i + 32 * half)),
                                _mm256_set1_epi8(static_cast<char>(0x80)));
    }
    static void get(const block_q8_0& b, uint8_t* out) { std::memcpy(out, b.qs, QK); }
    static void get_packed(const uint8_t* p, int r, uint8_t* out) {  // stored as q + 128
        const __m256i idx = _mm256_setr_epi32(0, 64, 128, 192, 256, 320, 384, 448);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                            _mm256_xor_si256(_mm256_i32gather_epi32(reinterpret_cast<const int*>(p + 4 * r), idx, 1),
                                             _mm256_set1_epi8(static_cast<char>(0x80))));
    }
};

// The 32-element block types: one lane per ggml block.
template <class Block, class Codes, class XBlock>
struct BlockFormat {
    using W = Block;
    using X = XBlock;
    static constexpr int kWeightBlock = QK, kActivationBlock = QK, kSteps = 8, kOffset = Codes::kOffset;
    static constexpr bool kSigned = Codes::kSigned, kExtra = std::is_same_v<Block, block_q4_1>;
    static constexpr int kChain = kSigned ? 1 : 8;

    static int64_t groups(int64_t k) { return (k / QK + kLanes - 1) / kLanes; }
    static int last_steps(int64_t k) { return steps_of(static_cast<int>((k / QK - 1) % kLanes + 1)); }

    // block(b, codes) writes block b's codes and returns its d and (q4_1) m.
    template <class BlockAt>
    static void pack_weights_from(BlockAt block, int64_t k, Group* groups) {
        const int64_t nb = k / QK;
        alignas(32) uint8_t codes[kLanes][QK];
        float d[kLanes], m[kLanes];
        for (int64_t g = 0; g * kLanes < nb; ++g) {
            const int count = static_cast<int>(std::min<int64_t>(kLanes, nb - g * kLanes));
            for (int j = 0; j < count; ++j) std::tie(d[j], m[j]) = block(g * kLanes + j, codes[j]);
            fill_group(codes[0], count, d, m, true, &groups[g]);
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

    // d and (q4_1) m of row r in the packed block at p, as floats.
    static std::pair<float, float> packed_scales(const uint8_t* p, int r) {
        using P = Packed<Block>;
        const float d = _cvtsh_ss(packed::get_fp16(p + P::kDAt, r));
        if constexpr (kExtra) return {d, _cvtsh_ss(packed::get_fp16(p + P::kMAt, r))};
        else return {d, 0.f};
    }

    // Rows 0..nr-1 of the 16-row packed group (simd/repack.h) into out + r x groups(k): the
    // whole groups by transposing each step's dwords of 8 blocks x 8 rows, the last partial
    // group row by row.
    static void pack_panel_packed(const uint8_t* group, int nr, int64_t k, Group* out) {
        using P = Packed<Block>;
        const int64_t nb = k / QK, ng = groups(k);
        for (int64_t g = 0; g < nb / kLanes; ++g) {
            const uint8_t* p = group + g * kLanes * P::kBytes;
            for (int half = 0; half < 2 && 8 * half < nr; ++half)
                for (int i = 0; i < 8; ++i) {
                    __m256i v[8];
                    for (int j = 0; j < kLanes; ++j) v[j] = Codes::step(p + j * P::kBytes, half, i);
                    transpose8(v);
                    for (int r = 8 * half; r < std::min(nr, 8 * half + 8); ++r)
                        _mm256_store_si256(reinterpret_cast<__m256i*>(out[r * ng + g].q[i]), v[r - 8 * half]);
                }
            for (int r = 0; r < nr; ++r) {
                float d[kLanes], m[kLanes];
                for (int j = 0; j < kLanes; ++j) std::tie(d[j], m[j]) = packed_scales(p + j * P::kBytes, r);
                set_scales(kLanes, d, m, true, &out[r * ng + g]);
            }
        }
        if (nb % kLanes == 0) return;
        const int count = static_cast<int>(nb % kLanes);
        alignas(32) uint8_t codes[kLanes][QK];
        float d[kLanes], m[kLanes];
        for (int r = 0; r < nr; ++r) {
            for (int j = 0; j < count; ++j) {
                const uint8_t* p = group + (nb - count + j) * P::kBytes;
                Codes::get_packed(p, r, codes[j]);
                std::tie(d[j], m[j]) = packed_scales(p, r);
            }
            fill_group(codes[0], count, d, m, true, &out[r * ng + ng - 1]);
        }
    }

    // d, (q8_1) s, and -o x the code sums.
    static void pack_activations(const XBlock* row, int64_t k, Group* groups) {
        const int64_t nb = k / QK;
        alignas(32) uint8_t codes[kLanes][QK];
        float d[kLanes], s[kLanes];
        for (int64_t g = 0; g * kLanes < nb; ++g) {
            const int count = static_cast<int>(std::min<int64_t>(kLanes, nb - g * kLanes));
            for (int j = 0; j < count; ++j) {
                const XBlock& b = row[g * kLanes + j];
                std::memcpy(codes[j], b.qs, QK);
                d[j] = _cvtsh_ss(b.d);
                if constexpr (kExtra) s[j] = _cvtsh_ss(b.s);
                else s[j] = 0.f;
            }
            fill_group(codes[0], count, d, s, false, &groups[g]);
            if constexpr (kOffset != 0) code_sums(kOffset, steps_of(count), &groups[g]);
        }
    }
};

// q4_K against q8_K: one group per super-block, lane j its sub-block j of 32 elements (the
// k-quant's own), whose float scale is d x its 6-bit scale; the minimum enters through
// `extra`: (-dmin m_j) x (the activations' d x their sum over sub-block j, from bsums).
struct Q4_KFormat {
    using W = block_q4_K;
    using X = block_q8_K;
    static constexpr int kWeightBlock = QK_K, kActivationBlock = QK_K, kSteps = 8, kOffset = 0, kChain = 8;
    static constexpr bool kSigned = false, kExtra = true;

    static int64_t groups(int64_t k) { return k / QK_K; }
    static int last_steps(int64_t) { return kSteps; }

    static void pack_weights(const block_q4_K* row, int64_t k, Group* groups) {
        const __m256i nibble = _mm256_set1_epi8(0x0F);
        alignas(32) uint8_t codes[kLanes][32];
        float d[kLanes], m[kLanes];
        for (int64_t g = 0; g < k / QK_K; ++g) {
            const block_q4_K& b = row[g];
            for (int c = 0; c < 4; ++c) {  // chunk c: sub-blocks 2c (low nibbles), 2c + 1 (high)
                const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * c));
                _mm256_store_si256(reinterpret_cast<__m256i*>(codes[2 * c]), _mm256_and_si256(v, nibble));
                _mm256_store_si256(reinterpret_cast<__m256i*>(codes[2 * c + 1]),
                                   _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble));
            }
            for (int j = 0; j < kLanes; ++j) {
                uint8_t sc, mn;
                q4_K_scale_min(j, b.scales, &sc, &mn);
                d[j] = _cvtsh_ss(b.d) * sc;
                m[j] = -_cvtsh_ss(b.dmin) * mn;
            }
            fill_group(codes[0], kLanes, d, m, true, &groups[g]);
        }
    }

    // The packed copy's rows are unpacked to ggml's blocks first (their codes are not in
    // sub-block order there).
    static void pack_panel_packed(const uint8_t* group, int nr, int64_t k, Group* out) {
        using P = Packed<block_q4_K>;
        thread_local std::vector<block_q4_K> row;
        const int64_t nb = k / QK_K;
        if (row.size() < static_cast<size_t>(nb)) row.resize(nb);
        for (int r = 0; r < nr; ++r) {
            for (int64_t b = 0; b < nb; ++b) P::unpack(group + b * P::kBytes, r, &row[b]);
            pack_weights(row.data(), k, out + r * nb);
        }
    }

    static void pack_activations(const block_q8_K* row, int64_t k, Group* groups) {
        float d[kLanes], s[kLanes];
        for (int64_t g = 0; g < k / QK_K; ++g) {
            const block_q8_K& b = row[g];
            for (int j = 0; j < kLanes; ++j) {
                d[j] = b.d;
                s[j] = b.d * static_cast<float>(b.bsums[2 * j] + b.bsums[2 * j + 1]);
            }
            fill_group(reinterpret_cast<const uint8_t*>(b.qs), kLanes, d, s, false, &groups[g]);
        }
    }
};

// q6_K against q8_K: a lane per 16-element sub-block (the k-quant's own), two groups of 4
// steps per super-block; each sub-block's float scale is d x its 8-bit scale. Codes are 0..63
// (q + 32): a pair is at most 2 x 63 x 127 = 16002, widened at every step; the offset is
// -32 x the activations' 16-element sums (bsums).
struct Q6_KFormat {
    using W = block_q6_K;
    using X = block_q8_K;
    static constexpr int kWeightBlock = QK_K, kActivationBlock = QK_K, kSteps = 4, kOffset = 32, kChain = 1;
    static constexpr bool kSigned = false, kExtra = false;

    static int64_t groups(int64_t k) { return 2 * (k / QK_K); }
    static int last_steps(int64_t) { return kSteps; }

    // The 256 codes (0..63) in element order; layout as in dequantize_row_q6_K.
    static void unpack(const block_q6_K& b, uint8_t* out) {
        const __m256i nibble = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(0x03);
        for (int h = 0; h < 2; ++h) {
            const __m256i low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h));
            const __m256i low2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h + 32));
            const __m256i high = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h));
            const __m256i nibbles[4] = {_mm256_and_si256(low, nibble), _mm256_and_si256(low2, nibble),
                                        _mm256_and_si256(_mm256_srli_epi16(low, 4), nibble),
                                        _mm256_and_si256(_mm256_srli_epi16(low2, 4), nibble)};
            for (int q = 0; q < 4; ++q) {  // elements 128h + 32q + l: bits 2q, 2q + 1 of qh[32h + l] on top
                const __m256i top = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, 2 * q), two), 4);
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 128 * h + 32 * q),
                                    _mm256_or_si256(nibbles[q], top));
            }
        }
    }

    static void pack_weights(const block_q6_K* row, int64_t k, Group* groups) {
        alignas(32) uint8_t codes[QK_K];
        for (int64_t b = 0; b < k / QK_K; ++b) {
            unpack(row[b], codes);
            const float d = _cvtsh_ss(row[b].d);
            for (int h = 0; h < 2; ++h) {
                Group* g = &groups[2 * b + h];
                interleave(codes + 128 * h, kSteps, kLanes, g);
                for (int j = 0; j < kLanes; ++j) {
                    g->d[j] = d * row[b].scales[8 * h + j];
                    g->extra[j] = 0.f;
                    g->offset[j] = 0;
                }
            }
        }
    }

    // The packed copy's rows are unpacked to ggml's blocks first.
    static void pack_panel_packed(const uint8_t* group, int nr, int64_t k, Group* out) {
        using P = Packed<block_q6_K>;
        thread_local std::vector<block_q6_K> row;
        const int64_t nb = k / QK_K;
        if (row.size() < static_cast<size_t>(nb)) row.resize(nb);
        for (int r = 0; r < nr; ++r) {
            for (int64_t b = 0; b < nb; ++b) P::unpack(group + b * P::kBytes, r, &row[b]);
            pack_weights(row.data(), k, out + r * groups(k));
        }
    }

    static void pack_activations(const block_q8_K* row, int64_t k, Group* groups) {
        for (int64_t b = 0; b < k / QK_K; ++b)
            for (int h = 0; h < 2; ++h) {
                Group* g = &groups[2 * b + h];
                interleave(reinterpret_cast<const uint8_t*>(row[b].qs) + 128 * h, kSteps, kLanes, g);
                for (int j = 0; j < kLanes; ++j) {
                    g->d[j] = row[b].d;
                    g->extra[j] = 0.f;
                    g->offset[j] = -kOffset * row[b].bsums[8 * h + j];
                }
            }
    }
};

// Pins v to a register at this point of the step loop. Without it GCC reassociates the
// unrolled chains of additions into trees whose many products spill to the stack, and folds
// a weight load into each of its C multiplies (the loads then bound the loop).
[[gnu::always_inline]] inline void keep(__m256i& v) { __asm__("" : "+x"(v)); }

// Group g of R weight rows x C activation rows, added to acc. Steps is a constant, so that
// the step loop unrolls and the sums stay in registers.
template <int R, int C, int Steps, class F>
[[gnu::always_inline]] inline void group_dot(const Group* const* w, const Group* const* x, int64_t g,
                                             __m256 (&acc)[R][C]) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i sum[R][C];
    if constexpr (F::kChain == 1) {  // every pair sum widened at once
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) sum[r][c] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int i = 0; i < Steps; ++i) {
            __m256i xv[C];
            for (int c = 0; c < C; ++c) xv[c] = _mm256_load_si256(reinterpret_cast<const __m256i*>(x[c][g].q[i]));
            for (int r = 0; r < R; ++r) {
                __m256i wv = _mm256_load_si256(reinterpret_cast<const __m256i*>(w[r][g].q[i]));
                keep(wv);  // one load for all C products, not one folded into each
                const __m256i magnitude = F::kSigned ? _mm256_abs_epi8(wv) : wv;
                for (int c = 0; c < C; ++c) {
                    const __m256i signed_x = F::kSigned ? _mm256_sign_epi8(xv[c], wv) : xv[c];
                    const __m256i pairs = _mm256_maddubs_epi16(magnitude, signed_x);
                    sum[r][c] = _mm256_add_epi32(sum[r][c], _mm256_madd_epi16(pairs, ones));
                    keep(sum[r][c]);
                }
            }
        }
    } else {  // the whole group's pair sums in 16 bits
        static_assert(F::kChain == F::kSteps);
        __m256i pairs[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) pairs[r][c] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int i = 0; i < Steps; ++i) {
            __m256i xv[C];
            for (int c = 0; c < C; ++c) xv[c] = _mm256_load_si256(reinterpret_cast<const __m256i*>(x[c][g].q[i]));
            for (int r = 0; r < R; ++r) {
                __m256i wv = _mm256_load_si256(reinterpret_cast<const __m256i*>(w[r][g].q[i]));
                keep(wv);
                for (int c = 0; c < C; ++c) {
                    pairs[r][c] = _mm256_add_epi16(pairs[r][c], _mm256_maddubs_epi16(wv, xv[c]));
                    keep(pairs[r][c]);
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) sum[r][c] = _mm256_madd_epi16(pairs[r][c], ones);
    }
    if constexpr (F::kOffset != 0)
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c)
                sum[r][c] = _mm256_add_epi32(sum[r][c],
                                             _mm256_load_si256(reinterpret_cast<const __m256i*>(x[c][g].offset)));
    for (int r = 0; r < R; ++r) {
        const __m256 dw = _mm256_load_ps(w[r][g].d);
        for (int c = 0; c < C; ++c) {
            const __m256 scale = _mm256_mul_ps(dw, _mm256_load_ps(x[c][g].d));
            acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[r][c]), scale, acc[r][c]);
            if constexpr (F::kExtra)
                acc[r][c] = _mm256_fmadd_ps(_mm256_load_ps(w[r][g].extra), _mm256_load_ps(x[c][g].extra), acc[r][c]);
        }
    }
}

// R weight rows x C activation rows over all groups (the last one of last_steps steps).
template <int R, int C, class F>
void micro(int64_t groups, int last_steps, const Group* const* w, const Group* const* x, float* y, int64_t ldy) {
    __m256 acc[R][C];
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
    for (int64_t g = 0; g < groups - 1; ++g) group_dot<R, C, F::kSteps, F>(w, x, g, acc);
    switch (last_steps) {
        case F::kSteps: group_dot<R, C, F::kSteps, F>(w, x, groups - 1, acc); break;
        case F::kSteps / 2: group_dot<R, C, F::kSteps / 2, F>(w, x, groups - 1, acc); break;
        case F::kSteps / 4: group_dot<R, C, F::kSteps / 4, F>(w, x, groups - 1, acc); break;
        default: group_dot<R, C, F::kSteps / 8, F>(w, x, groups - 1, acc); break;
    }
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) y[c * ldy + r] = hsum256(acc[r][c]);
}

template <int R, class F>
void micro_cols(int nc, int64_t groups, int last_steps, const Group* const* w, const Group* const* x, float* y,
                int64_t ldy) {
    static_assert(kCols == 2);
    if (nc == 2) return micro<R, 2, F>(groups, last_steps, w, x, y, ldy);
    micro<R, 1, F>(groups, last_steps, w, x, y, ldy);
}

// F: W, X (block types) of kWeightBlock / kActivationBlock elements, kSteps, kOffset (the
// weights' code offset), kSigned, kChain (steps summed in 16 bits before widening: 1 or
// kSteps), kExtra, groups(k), last_steps(k), pack_weights(row, k,
// groups), pack_panel_packed(group, nr, k, groups) (rows 0..nr-1 of a 16-row packed group,
// simd/repack.h) and pack_activations(row, k, groups).
template <class F>
void qgemm(float* y, const void* wv, bool packed, const void* xv, int64_t m, int64_t k, int n, int threads) {
    using W = typename F::W;
    using X = typename F::X;
    const int64_t groups = F::groups(k);
    const int last_steps = F::last_steps(k);
    const int64_t w_blocks = k / F::kWeightBlock, x_blocks = k / F::kActivationBlock;  // per row
    const size_t group_bytes = Packed<W>::kBytes * w_blocks;                           // of 16 packed rows
    thread_local std::vector<Group> x_packed;
    if (x_packed.size() < static_cast<size_t>(groups * n)) x_packed.resize(groups * n);
    Group* xp = x_packed.data();
    const W* w = static_cast<const W*>(wv);
    const X* x = static_cast<const X*>(xv);
    auto pack = [&](int id, int count) {
        for (int t = id; t < n; t += count) F::pack_activations(x + t * x_blocks, k, xp + t * groups);
    };
    auto compute = [&](int id, int count) {
        thread_local std::vector<Group> w_packed;
        if (w_packed.size() < static_cast<size_t>(groups * kPackedRows)) w_packed.resize(groups * kPackedRows);
        const int64_t panels = (m + kPackedRows - 1) / kPackedRows;
        for (int64_t p = panels * id / count; p < panels * (id + 1) / count; ++p) {
            const int64_t r0 = p * kPackedRows;
            const int nr = static_cast<int>(std::min<int64_t>(kPackedRows, m - r0));
            const Group* wr[kPackedRows];
            if (packed) F::pack_panel_packed(static_cast<const uint8_t*>(wv) + p * group_bytes, nr, k, w_packed.data());
            for (int r = 0; r < nr; ++r) {
                if (!packed) F::pack_weights(w + (r0 + r) * w_blocks, k, w_packed.data() + r * groups);
                wr[r] = w_packed.data() + r * groups;
            }
            for (int c0 = 0; c0 < n; c0 += kCols) {
                const int nc = std::min(kCols, n - c0);
                const Group* xc[kCols];
                for (int c = 0; c < nc; ++c) xc[c] = xp + (c0 + c) * groups;
                float* out = y + c0 * m + r0;
                int r = 0;
                for (; r + kRows <= nr; r += kRows)
                    micro_cols<kRows, F>(nc, groups, last_steps, wr + r, xc, out + r, m);
                for (; r < nr; ++r) micro_cols<1, F>(nc, groups, last_steps, wr + r, xc, out + r, m);
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

QGemmFn avx2_qgemm(DType weight) {
    switch (weight) {
        case DType::Q8_0: return qgemm<BlockFormat<block_q8_0, Q8_0Codes, block_q8_0>>;
        case DType::Q4_0: return qgemm<BlockFormat<block_q4_0, NibbleCodes<block_q4_0, 8>, block_q8_0>>;
        case DType::Q4_1: return qgemm<BlockFormat<block_q4_1, NibbleCodes<block_q4_1, 0>, block_q8_1>>;
        case DType::Q4_K: return qgemm<Q4_KFormat>;
        case DType::Q6_K: return qgemm<Q6_KFormat>;
        default: return nullptr;
    }
}

}  // namespace lm::simd
