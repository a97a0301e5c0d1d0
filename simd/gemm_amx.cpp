// Prompt products x W^T over f16 and bf16 weights on the AMX tile unit, with exact products.
//
// TDPBF16PS multiplies bf16 pairs into fp32 sums, a 16 x 16 block of outputs per instruction,
// at 16 times the rate of the FMA units. Every float splits exactly into bf16 parts by cutting
// its significand: v0 is v with the significand cut to 8 bits, v1 the next 8 bits of what is
// left, v2 the rest (two bit masks, and the differences are exact in f32). An f16 weight has an
// 11-bit significand, so w = w0 + w1 (bf16: w = w0); the activations take up to three parts,
// and two when they are f16 values already, as matmul passes them for f16 weights. The bf16
// pairs per k
//     (w0, w1).(x0, x0) + (w0, w1).(x1, x1) [+ (w0, w1).(x2, x2)]
// add up to every partial product, so each product w x is exact and the sums are fp32, as in
// the FMA kernels (only the order of the additions differs). Parts below 2^-126 count as 0:
// AMX flushes denormals.
//
// F32 weights stay on the FMA GEMM: a float weight needs three parts, six partial products
// and a conversion of every weight per call, and a version of this kernel that did so ran no
// faster than the FMA one in stories110M prompts (the conversion of W, streamed from memory,
// did not overlap with the tile products).
//
// C^T = W . X^T is computed in 16 x 16 tiles, rows of W by tokens: W's rows are AMX's A operand
// ((w0, w1) pairs, [row][k], converted a chunk at a time); the tokens are the B operand
// ([k][token], a tile per slot per 16 x 16 block, transposed once per chunk). The register block
// is 2 x 2 tiles (32 rows x 32 tokens): tiles 0-3 accumulate, 4-5 hold W, 6-7 x. Depth runs in
// chunks of kChunk: a chunk of x's tiles stays in L2 while the rows of W pass, and the partial
// sums wait in `acc`. Every output is the same sequence of TDPBF16PS steps (chunks, then 16-deep
// blocks, then the slots, in order) whatever share of the rows a thread takes, so results do
// not depend on the thread count.
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "simd/kernels.h"

namespace lm::simd {

namespace {

constexpr int kChunk = 512;   // depth converted per pass
constexpr int kWords = 256;   // 32-bit words per tile (16 rows of 64 bytes)

struct alignas(64) TileConfig {
    uint8_t palette = 1, start_row = 0, reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
};

// Every tile 16 rows of 64 bytes. GCC 12 does not see LDTILECFG read all of its operand and
// can drop the stores that fill it (it did so in an int8 kernel), hence the barrier.
void configure_tiles() {
    TileConfig cfg;
    for (int t = 0; t < 8; ++t) cfg.colsb[t] = 64, cfg.rows[t] = 16;
    asm volatile("" : : "m"(cfg) : "memory");
    _tile_loadconfig(&cfg);
}

// The three bf16 parts of 16 floats (see the top of the file), each a float whose low 16 bits
// are zero, so its bf16 is the high half of the lane.
struct Split {
    __m512i p0, p1, p2;
};
inline Split split3(__m512 v) {
    const __m512i high = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
    const __m512i p0 = _mm512_and_si512(_mm512_castps_si512(v), high);
    const __m512 r1 = _mm512_sub_ps(v, _mm512_castsi512_ps(p0));
    const __m512i p1 = _mm512_and_si512(_mm512_castps_si512(r1), high);
    return {p0, p1, _mm512_castps_si512(_mm512_sub_ps(r1, _mm512_castsi512_ps(p1)))};
}

// A bf16 pair per lane from two parts: `lo`'s first in memory.
inline __m512i pair(__m512i lo, __m512i hi) { return _mm512_or_si512(_mm512_srli_epi32(lo, 16), hi); }

// n (<= 16) weights of W row `row` from depth k, as floats; lanes past n zero.
inline __m512 load_w(const GemmArgs& g, int64_t row, int k, int n) {
    const __m256i h = _mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << n) - 1),
                                                static_cast<const uint16_t*>(g.b) + row * g.b_cs + k);
    if (g.b_type == DType::F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));  // bf16
}

// n (<= 16) elements of x row `row` from depth k; lanes past n zero.
inline __m512 load_x(const GemmArgs& g, int row, int k, int n) {
    const float* a = g.a + row * g.a_rs + k * g.a_cs;
    if (g.a_cs == 1) return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), a);
    alignas(64) float v[16] = {};
    for (int i = 0; i < n; ++i) v[i] = a[i * g.a_cs];
    return _mm512_load_ps(v);
}

// W rows [n0, min(n0 + 32, end)) (the rest of the 32 zero) x depth [k0, k0 + kc) as (w0, w1)
// tiles: for each 16-deep block, the two 16-row halves. Converted a few rows at a time (step),
// so that the conversion of the next rows runs between the tile products of these; each step
// also asks for the same place in the 32 rows after them, up to `end` (into L2).
class PackW {
public:
    PackW(const GemmArgs& g, int n0, int end, int k0, int kc, uint32_t* dst)
        : g_(g), n0_(n0), rows_(std::min(32, end - n0)), k0_(k0), kc_(kc), items_((kc + 15) / 16 * 32), end_(end),
          dst_(dst) {}
    void step(int count) {
        for (const int end = std::min(items_, next_ + count); next_ < end; ++next_) {
            const int b = next_ / 32, r = next_ % 32, k = k0_ + b * 16;
            if (n0_ + 32 + r < end_)
                __builtin_prefetch(static_cast<const uint16_t*>(g_.b) + (n0_ + 32 + r) * g_.b_cs + k, 0, 2);
            __m512i w = _mm512_setzero_si512();
            if (r < rows_) {
                const Split s = split3(load_w(g_, n0_ + r, k, std::min(16, kc_ - b * 16)));
                w = pair(s.p0, s.p1);
            }
            _mm512_store_si512(dst_ + (b * 2 + r / 16) * kWords + r % 16 * 16, w);
        }
    }
    void finish() { step(items_); }
    int items() const { return items_; }

private:
    const GemmArgs& g_;
    int n0_, rows_, k0_, kc_, items_, end_, next_ = 0;
    uint32_t* dst_;
};

// x rows (tokens) [0, groups * 16) x depth [k0, k0 + kc) as tiles, rows past M zero: for each
// 16-deep block, for each 16-token group, the slots (x0, x0), (x1, x1), (x2, x2), [k][token].
// Returns whether any x2 is nonzero (if not, the third slot adds nothing).
bool pack_x(const GemmArgs& g, int groups, int k0, int kc, uint32_t* dst) {
    alignas(64) uint32_t slots[3][16][16];
    __m512i third = _mm512_setzero_si512();
    for (int b = 0; b * 16 < kc; ++b) {
        const int n = std::min(16, kc - b * 16);
        for (int t = 0; t < groups; ++t) {
            for (int j = 0; j < 16; ++j) {
                const int m = t * 16 + j;
                const Split s = split3(m < g.M ? load_x(g, m, k0 + b * 16, n) : _mm512_setzero_ps());
                _mm512_store_si512(slots[0][j], pair(s.p0, s.p0));
                _mm512_store_si512(slots[1][j], pair(s.p1, s.p1));
                _mm512_store_si512(slots[2][j], pair(s.p2, s.p2));
                third = _mm512_or_si512(third, s.p2);
            }
            uint32_t* out = dst + (b * groups + t) * 3 * kWords;
            for (int s = 0; s < 3; ++s)
                transpose16(reinterpret_cast<const float*>(slots[s][0]), 16, 16, reinterpret_cast<float*>(out + s * kWords), 16);
        }
    }
    return _mm512_test_epi32_mask(third, third) != 0;
}

// acc (32 rows of W x 32 tokens, rows ld floats apart) += the depth blocks of one chunk, over
// `slots` slots, with `per` steps of `next` after each block's products.
void block(int blocks, int groups, int slots, const uint32_t* w, const uint32_t* x, float* acc, int64_t ld,
           bool first, PackW* next, int per) {
    const int64_t stride = ld * 4;
    if (first) {
        _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    } else {
        _tile_loadd(0, acc, stride); _tile_loadd(1, acc + 16, stride);
        _tile_loadd(2, acc + 16 * ld, stride); _tile_loadd(3, acc + 16 * ld + 16, stride);
    }
    for (int b = 0; b < blocks; ++b, w += 2 * kWords, x += groups * 3 * kWords) {
        _tile_loadd(4, w, 64); _tile_loadd(5, w + kWords, 64);  // both halves of W
        for (int s = 0; s < slots; ++s) {
            _tile_loadd(6, x + s * kWords, 64); _tile_loadd(7, x + (3 + s) * kWords, 64);  // both token groups
            _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7); _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7);
        }
        if (next) next->step(per);
    }
    _tile_stored(0, acc, stride); _tile_stored(1, acc + 16, stride);
    _tile_stored(2, acc + 16 * ld, stride); _tile_stored(3, acc + 16 * ld + 16, stride);
}

template <class T>
using Buffer = std::vector<T, xsimd::aligned_allocator<T, 64>>;

// Rows [nb, ne) of W (columns of C) for all tokens, on the calling thread.
void rows_amx(const GemmArgs& g, int nb, int ne) {
    const int groups = (g.M + 31) / 32 * 2, ld = groups * 16, span = (ne - nb + 31) / 32 * 32;
    constexpr size_t kBlocks = kChunk / 16;
    thread_local Buffer<uint32_t> xt, wt;
    thread_local Buffer<float> acc;
    if (xt.size() < kBlocks * groups * 3 * kWords) xt.resize(kBlocks * groups * 3 * kWords);
    if (wt.size() < kBlocks * 4 * kWords) wt.resize(kBlocks * 4 * kWords);  // two: this block's, the next's
    if (acc.size() < static_cast<size_t>(span) * ld) acc.resize(static_cast<size_t>(span) * ld);
    configure_tiles();
    for (int k0 = 0; k0 < g.K; k0 += kChunk) {
        const int kc = std::min(kChunk, g.K - k0), blocks = (kc + 15) / 16;
        const int slots = pack_x(g, groups, k0, kc, xt.data()) ? 3 : 2;
        uint32_t* w[2] = {wt.data(), wt.data() + kBlocks * 2 * kWords};
        PackW(g, nb, ne, k0, kc, w[0]).finish();
        for (int n0 = nb; n0 < ne; n0 += 32) {
            std::optional<PackW> next;
            if (n0 + 32 < ne) next.emplace(g, n0 + 32, ne, k0, kc, w[1]);
            const int calls = blocks * groups / 2, per = next ? (next->items() + calls - 1) / calls : 0;
            for (int t = 0; t < groups; t += 2)
                block(blocks, groups, slots, w[0], xt.data() + t * 3 * kWords, acc.data() + (n0 - nb) * ld + t * 16,
                      ld, k0 == 0, next ? &*next : nullptr, per);
            if (next) next->finish();
            std::swap(w[0], w[1]);
        }
    }
    _tile_release();
    // C rows (tokens) x columns n0.. from the [row of W][token] sums, 16 x 16 at a time.
    alignas(64) float out[16 * 16];
    for (int n0 = nb; n0 < ne; n0 += 16) {
        const int cols = std::min(16, ne - n0);
        const __mmask16 keep = static_cast<__mmask16>((1u << cols) - 1);
        const __m512 bias = g.bias ? _mm512_maskz_loadu_ps(keep, g.bias + n0) : _mm512_setzero_ps();
        for (int t = 0; t * 16 < g.M; ++t) {
            transpose16(acc.data() + (n0 - nb) * ld + t * 16, ld, cols, out, 16);
            for (int j = 0; j < 16 && t * 16 + j < g.M; ++j) {
                float* c = g.c + (t * 16 + j) * g.ldc + n0;
                __m512 v = _mm512_add_ps(_mm512_load_ps(out + j * 16), bias);
                if (!g.overwrite) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(keep, c));
                _mm512_mask_storeu_ps(c, keep, v);
            }
        }
    }
}

}  // namespace

void gemm_amx(const GemmArgs& g, int part, int parts) {
    // x W^T over 16-bit weights with fewer tokens than rows of W (prompts); the rest on the FMA units.
    const bool prompt = g.M > 0 && g.K > 0 && g.b_rs == 1 && g.b_cs != 1 && g.M < g.N;
    if (!prompt || (g.b_type != DType::F16 && g.b_type != DType::BF16)) return gemm_avx512(g, part, parts);
    const int64_t groups = (g.N + 31) / 32;  // shares are whole 32-row blocks
    const int nb = static_cast<int>(groups * part / parts) * 32;
    const int ne = static_cast<int>(std::min<int64_t>(g.N, groups * (part + 1) / parts * 32));
    if (nb < ne) rows_amx(g, nb, ne);
}

}  // namespace lm::simd
