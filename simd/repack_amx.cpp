// Prompts over packed q8_0 and q4_0 weights (simd/repack.h) on the AMX tile unit, bit-identical
// to the scalar reference, like the AVX-512 packed kernels.
//
// TDPBSSD multiplies a tile of signed bytes by another into int32 sums. A packed block is
// already in the layout of its B operand: register s holds codes 4s..4s+3 of each of the 16
// rows, i.e. row s of a tile of 16 columns x 4 bytes (q8_0 stores code + 128 and q4_0 nibbles,
// so each group's codes are made signed bytes once, for all the tokens). The activations'
// q8_0 codes are the A operand, 16 tokens x 32 codes, regrouped by matmul once per call so
// that each tile is 512 contiguous bytes. One instruction per block and 16 tokens gives each
// token's integer block sums over the 16 rows exactly (integer sums do not depend on order); then, per token, the reference's float steps:
// one conversion, times (d of the rows x d of the token), added to the token's sum in block
// order. Those float steps are the work here: the products of a batch of blocks (tiles 0-3)
// run on the tile unit while the vector units do the float steps of the batch before.
#include "simd/amx.h"  // first: it sets up <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "simd/kernels.h"
#include "simd/packed_blocks.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

constexpr int kCodes = 512;                     // bytes of one block's signed codes (16 rows x 32)

// Signed codes of a packed block (tile rows: 8 x 64 bytes); its size and where its 16 fp16 d are
// come from the layout's Packed<Block> (simd/packed_blocks.h).
template <DType T>
struct Codes;
template <>
struct Codes<DType::Q8_0> : Packed<block_q8_0> {
    static void get(const uint8_t* block, int8_t* out) {
        const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
        for (int s = 0; s < 8; ++s)
            _mm512_store_si512(out + 64 * s, _mm512_xor_si512(_mm512_loadu_si512(block + 64 * s), bias));
    }
};
template <>
struct Codes<DType::Q4_0> : Packed<block_q4_0> {
    // Low nibbles of register s are codes 4s.. (tile row s), high nibbles codes 16 + 4s..
    // (tile row 4 + s).
    static void get(const uint8_t* block, int8_t* out) {
        const __m512i nibble = _mm512_set1_epi8(0x0F), eight = _mm512_set1_epi8(8);
        for (int s = 0; s < 4; ++s) {
            const __m512i v = _mm512_loadu_si512(block + 64 * s);
            _mm512_store_si512(out + 64 * s, _mm512_sub_epi8(_mm512_and_si512(v, nibble), eight));
            _mm512_store_si512(out + 64 * (4 + s), _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(v, 4), nibble), eight));
        }
    }
};

// Tile pair p (0: tiles 0, 1; 1: tiles 2, 3) <- the int32 sums of two consecutive blocks (count
// 1 or 2 of them): the tokens' codes at x . the rows' codes at w. Operands in tiles 4, 6 and 5,
// 7. (The tile intrinsics take literal numbers.)
inline void multiply(int p, const int8_t* x, const int8_t* w, int count) {
    _tile_loadd(4, x, QK);
    _tile_loadd(6, w, 64);
    if (count > 1) {
        _tile_loadd(5, x + kCodes, QK);
        _tile_loadd(7, w + kCodes, 64);
    }
    if (p == 0) {
        _tile_zero(0); _tile_dpbssd(0, 4, 6);
        if (count > 1) { _tile_zero(1); _tile_dpbssd(1, 5, 7); }
    } else {
        _tile_zero(2); _tile_dpbssd(2, 4, 6);
        if (count > 1) { _tile_zero(3); _tile_dpbssd(3, 5, 7); }
    }
}

// Tile pair p's sums (count tiles) to out: [tile][token][row].
inline void store(int p, int32_t (*out)[16][16], int count) {
    if (p == 0) {
        _tile_stored(0, out[0], 64);
        if (count > 1) _tile_stored(1, out[1], 64);
    } else {
        _tile_stored(2, out[0], 64);
        if (count > 1) _tile_stored(3, out[1], 64);
    }
}

template <DType T>
void amx_tile(int64_t k, const void* group_v, int nr, const int8_t* x, const float* scales, int groups, float* y,
              int64_t ldy) {
    using F = Codes<T>;
    const uint8_t* group = static_cast<const uint8_t*>(group_v);
    const int64_t nb = k / QK;
    if (groups <= 0) return;
    thread_local std::vector<int8_t, xsimd::aligned_allocator<int8_t, 64>> codes;
    thread_local std::vector<float, xsimd::aligned_allocator<float, 64>> dw;
    if (codes.size() < static_cast<size_t>(nb) * kCodes) codes.resize(static_cast<size_t>(nb) * kCodes);
    if (dw.size() < static_cast<size_t>(nb) * 16) dw.resize(static_cast<size_t>(nb) * 16);
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* block = group + b * F::kBytes;
        F::get(block, codes.data() + b * kCodes);
        _mm512_store_ps(dw.data() + b * 16, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + F::kDAt))));
    }
    TileConfig cfg;
    for (int t = 0; t < 4; ++t) cfg.tile(t, 16, 64);  // 16 tokens x 16 rows of int32
    cfg.tile(4, 16, QK).tile(5, 16, QK);               // 16 tokens x 32 codes
    cfg.tile(6, QK / 4, 64).tile(7, QK / 4, 64);       // 8 x (16 rows x 4 codes)
    load_tiles(cfg);
    alignas(64) int32_t sums[2][2][16][16];  // [stage parity][tile of the pair][token][row]
    const __mmask16 keep = static_cast<__mmask16>((1u << nr) - 1);
    // The next group (matmul's next chunk of rows) is fetched while this one multiplies, a few
    // lines per stage (a burst of requests would stall). Past the matrix's end this asks for
    // lines nobody reads.
    const int64_t pairs = (nb + 1) / 2, group_bytes = nb * F::kBytes;
    const int64_t per_stage = (group_bytes / 64 + groups * (pairs + 2) - 1) / (groups * (pairs + 2)) * 64;
    const char* ahead = reinterpret_cast<const char*>(group + group_bytes);
    const char* const ahead_end = ahead + group_bytes;
    for (int g = 0; g < groups; ++g) {
        const int8_t* xg = x + g * nb * kCodes;
        const float* dx = scales + g * nb * 16;
        __m512 acc[16];
#pragma GCC unroll 16
        for (__m512& a : acc) a = _mm512_setzero_ps();
        // Blocks go in pairs through a pipeline of three stages: pair j is multiplied into tile
        // pair j % 2 at stage j, its sums stored at stage j + 1 (after the tile unit has moved on
        // to pair j + 1), and its float steps run at stage j + 2, from memory the stores have
        // reached by then. So the tile unit and the vector units work side by side.
        const auto count = [&](int64_t j) { return static_cast<int>(std::min<int64_t>(2, nb - 2 * j)); };
        for (int64_t j = 0; j < pairs + 2; ++j) {
            if (j < pairs) multiply(j % 2, xg + 2 * j * kCodes, codes.data() + 2 * j * kCodes, count(j));
            if (j >= 1 && j <= pairs) store((j - 1) % 2, sums[(j - 1) % 2], count(j - 1));
            if (j >= 2)
                for (int i = 0; i < count(j - 2); ++i) {
                    const int64_t b = 2 * (j - 2) + i;
                    const __m512 d = _mm512_load_ps(dw.data() + b * 16);
                    const int32_t (*isum)[16] = sums[j % 2][i];
#pragma GCC unroll 16
                    for (int m = 0; m < 16; ++m) {  // the reference: sum += float(isum) * (dw * dx)
                        const __m512 scale = _mm512_mul_ps(d, _mm512_set1_ps(dx[b * 16 + m]));
                        acc[m] = _mm512_add_ps(acc[m], _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_load_si512(isum[m])), scale));
                    }
                }
            for (const char* end = std::min(ahead_end, ahead + per_stage); ahead < end; ahead += 64) _mm_prefetch(ahead, _MM_HINT_T1);
        }
#pragma GCC unroll 16
        for (int m = 0; m < 16; ++m) _mm512_mask_storeu_ps(y + (g * 16 + m) * ldy, keep, acc[m]);
    }
    _tile_release();
}

}  // namespace

AmxTileFn amx_packed_tile(DType weight) {
    switch (weight) {
        case DType::Q8_0: return amx_tile<DType::Q8_0>;
        case DType::Q4_0: return amx_tile<DType::Q4_0>;
        default: return nullptr;
    }
}

}  // namespace lm::simd
