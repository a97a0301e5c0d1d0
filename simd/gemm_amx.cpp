// Prompt products x W^T over f32, f16 and bf16 weights on the AMX tile unit.
//
// TDPBF16PS multiplies two 16 x 32 bf16 tiles into a 16 x 16 block of fp32 sums, at 16 times
// the rate of the FMA units. Every float splits exactly into bf16 parts by cutting its
// significand: v0 is v with the significand cut to 8 bits, v1 the next 8 bits of what is left,
// v2 the rest (two bit masks, and the differences are exact in f32), so v = v0 + v1 + v2. An
// f16 weight has an 11-bit significand and two parts, a bf16 weight one; the activations take
// three, or two when they are f16 values already, as matmul passes them for f16 weights. Each
// part of W times each part of x is one tile product, so:
//  - f16 and bf16 weights: every partial product is added, each product w x is exact and the
//    sums are fp32, as in the FMA kernels (only the order of the additions differs);
//  - f32 weights: the six partial products w0 x0, w0 x1, w1 x0, w1 x1, w0 x2, w2 x0; the three
//    left out are each under 2^-22 of |w x| (|v1| < 2^-7 |v|, |v2| < 2^-15 |v|), together under
//    2^-21, below what the fp32 sums themselves round away over a dot product.
// Parts below 2^-126 count as 0: AMX flushes denormals.
//
// C^T = W . X^T is computed in 16 x 16 tiles, rows of W by tokens: W's rows are AMX's A operand
// (a tile per part, [row][k], converted a chunk at a time while the previous rows multiply);
// the tokens are the B operand ([pair of k][token], a tile per part, transposed once per chunk).
// The register block is 2 x 2 tiles (32 rows x 32 tokens): tiles 0-3 accumulate, 4-5 hold W,
// 6-7 x. Depth runs in chunks of kChunk: a chunk of x's tiles stays in L2 while the rows of W
// pass, and the partial sums wait in `acc`. Every output is the same sequence of TDPBF16PS
// steps (chunks, then 32-deep blocks, then the products in schedule order) whatever share of
// the rows a thread takes, so results do not depend on the thread count.
//
// Converting W costs a large share of the time of the tile products it feeds, so it runs
// between them: a share of the next rows' conversion after each product (after each block's
// products instead, stories110M f32 prompts took 10-15 % longer).
#include "simd/amx.h"  // first: it sets up <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "simd/kernels.h"

namespace lm::simd {

namespace {

constexpr int kChunk = 1024;  // depth converted per pass (stories110M f32 prompts: 512 -8 %, 2048 -10 %)
constexpr int kDepth = 32;    // depth of a tile: 16 bf16 pairs
constexpr int kWords = 256;   // 32-bit words per tile (16 rows of 64 bytes)

// Every tile 16 rows of 64 bytes.
void configure_tiles() {
    TileConfig cfg;
    for (int t = 0; t < 8; ++t) cfg.tile(t, 16, 64);
    load_tiles(cfg);
}

// The three parts of 16 floats (see the top of the file), each a float whose low 16 bits are
// zero: exactly a bf16.
struct Split {
    __m512 p[3];
};
inline Split split3(__m512 v) {
    const __m512 high = _mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int>(0xFFFF0000u)));
    const __m512 p0 = _mm512_and_ps(v, high), r1 = _mm512_sub_ps(v, p0), p1 = _mm512_and_ps(r1, high);
    return {{p0, p1, _mm512_sub_ps(r1, p1)}};
}

// 32 bf16 from parts of 16 floats each (`lo` first in memory); exact, as the parts are bf16s.
inline __m512i to_bf16(__m512 lo, __m512 hi) { return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo)); }

// The weight types as floats: 16 elements, or the first n (< 16, maybe <= 0) with the rest zero.
template <DType T>
struct Weight;
template <>
struct Weight<DType::F32> {
    using Element = float;
    static constexpr int kParts = 3;
    static __m512 load(const float* p) { return _mm512_loadu_ps(p); }
    static __m512 load(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
    static __mmask16 mask(int n) { return n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1); }
};
template <>
struct Weight<DType::F16> {
    using Element = uint16_t;
    static constexpr int kParts = 2;  // 11 significant bits
    static __m512 load(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
    static __m512 load(const uint16_t* p, int n) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(Weight<DType::F32>::mask(n), p)); }
};
template <>
struct Weight<DType::BF16> {
    using Element = uint16_t;
    static constexpr int kParts = 1;
    static __m512 widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
    static __m512 load(const uint16_t* p) { return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
    static __m512 load(const uint16_t* p, int n) { return widen(_mm256_maskz_loadu_epi16(Weight<DType::F32>::mask(n), p)); }
};

// W rows [n0, min(n0 + 32, end)) (the rest of the 32 zero) x depth [k0, k0 + kc) as A tiles:
// for each 32-deep block, for each 16-row half, one tile per part of W. Converted row by row, a
// few blocks at a time (step), so that the conversion of the next rows runs between the tile
// products of these; each row also asks for the same place in the row 32 further on, up to
// `end` (into L2).
template <DType T>
class PackW {
    using E = typename Weight<T>::Element;
    static constexpr int kParts = Weight<T>::kParts;

public:
    PackW(const GemmArgs& g, int n0, int end, int k0, int kc, uint32_t* dst)
        : src_(static_cast<const E*>(g.b) + n0 * g.b_cs + k0), stride_(g.b_cs), rows_(std::min(32, end - n0)),
          ahead_(std::clamp(end - n0 - 32, 0, 32)), kc_(kc), blocks_((kc + kDepth - 1) / kDepth), dst_(dst) {}
    int items() const { return 32 * blocks_; }
    void step(int count) {
        while (count > 0 && row_ < 32) {
            const int b1 = std::min(blocks_, block_ + count);
            convert(row_, block_, b1);
            count -= b1 - block_;
            block_ = b1;
            if (block_ == blocks_) block_ = 0, ++row_;
        }
    }
    void finish() { step(items()); }

private:
    // Blocks [b0, b1) of row r.
    void convert(int r, int b0, int b1) {
        constexpr int kNext = 2 * kParts * kWords;  // from a block's tiles to the next block's
        uint32_t* d = dst_ + (b0 * 2 + r / 16) * kParts * kWords + r % 16 * 16;
        if (r >= rows_) {
            for (int b = b0; b < b1; ++b, d += kNext)
                for (int i = 0; i < kParts; ++i) _mm512_store_si512(d + i * kWords, _mm512_setzero_si512());
            return;
        }
        const E* s = src_ + r * stride_ + b0 * kDepth;
        const int64_t ahead = r < ahead_ ? 32 * stride_ : 0;
        for (int b = b0; b < b1; ++b, s += kDepth, d += kNext) {
            if (ahead)  // a line per 64 bytes
                for (size_t at = 0; at < kDepth * sizeof(E); at += 64)
                    __builtin_prefetch(reinterpret_cast<const char*>(s + ahead) + at, 0, 2);
            const int left = kc_ - b * kDepth;
            const bool whole = left >= kDepth;
            const Split lo = split3(whole ? Weight<T>::load(s) : Weight<T>::load(s, left));
            const Split hi = split3(whole ? Weight<T>::load(s + 16) : Weight<T>::load(s + 16, left - 16));
            for (int i = 0; i < kParts; ++i) _mm512_store_si512(d + i * kWords, to_bf16(lo.p[i], hi.p[i]));
        }
    }

    const E* src_;
    int64_t stride_;
    int rows_, ahead_, kc_, blocks_, row_ = 0, block_ = 0;
    uint32_t* dst_;
};

// n (<= 16, maybe <= 0) elements of x row `row` from depth k; lanes past n zero.
inline __m512 load_x(const GemmArgs& g, int row, int k, int n) {
    const float* a = g.a + row * g.a_rs + k * g.a_cs;
    if (g.a_cs == 1) return _mm512_maskz_loadu_ps(Weight<DType::F32>::mask(n), a);
    alignas(64) float v[16] = {};
    for (int i = 0; i < n; ++i) v[i] = a[i * g.a_cs];
    return _mm512_load_ps(v);
}

// x rows (tokens) of the 16-token groups [t0, t1) of `groups` x depth [k0, k0 + kc) as B tiles,
// rows past M zero: for each 32-deep block, for each group, the tiles of x0, x1 and x2, each
// [pair of k][token]. Returns whether any x2 is nonzero (if not, its products add nothing).
bool pack_x(const GemmArgs& g, int groups, int t0, int t1, int k0, int kc, uint32_t* dst) {
    alignas(64) uint32_t rows[3][16][16];
    __m512 third = _mm512_setzero_ps();
    for (int b = 0; b * kDepth < kc; ++b) {
        const int left = kc - b * kDepth;
        for (int t = t0; t < t1; ++t) {
            for (int j = 0; j < 16; ++j) {
                const int m = t * 16 + j;
                const bool real = m < g.M;
                const Split lo = split3(real ? load_x(g, m, k0 + b * kDepth, std::min(16, left)) : _mm512_setzero_ps());
                const Split hi = split3(real ? load_x(g, m, k0 + b * kDepth + 16, std::min(16, left - 16)) : _mm512_setzero_ps());
                for (int i = 0; i < 3; ++i) _mm512_store_si512(rows[i][j], to_bf16(lo.p[i], hi.p[i]));
                third = _mm512_or_ps(third, _mm512_or_ps(lo.p[2], hi.p[2]));
            }
            uint32_t* out = dst + (b * groups + t) * 3 * kWords;
            for (int i = 0; i < 3; ++i)
                transpose16(reinterpret_cast<const float*>(rows[i][0]), 16, 16, reinterpret_cast<float*>(out + i * kWords), 16);
        }
    }
    const __m512i bits = _mm512_castps_si512(third);
    return _mm512_test_epi32_mask(bits, bits) != 0;
}

// The partial products, as (part of W, part of x), in an order where each shares a tile with
// the one before where it can (a tile loaded once serves both). Every pair of parts for f16 and
// bf16 weights: exact products. For f32 the pairs whose parts' significands start within 16 bits
// of the product's: the three left out add up to under 2^-21 of it.
struct Product {
    int w, x;
};
struct Schedule {
    Product p[6];
    int n;
};
template <DType T>
constexpr Schedule schedule(bool x2) {
    if (T == DType::F32)
        return x2 ? Schedule{{{0, 2}, {0, 1}, {1, 1}, {1, 0}, {2, 0}, {0, 0}}, 6}
                  : Schedule{{{0, 1}, {1, 1}, {1, 0}, {2, 0}, {0, 0}}, 5};
    if (T == DType::F16)
        return x2 ? Schedule{{{0, 0}, {0, 1}, {0, 2}, {1, 2}, {1, 1}, {1, 0}}, 6}
                  : Schedule{{{0, 0}, {0, 1}, {1, 1}, {1, 0}}, 4};
    return x2 ? Schedule{{{0, 0}, {0, 1}, {0, 2}}, 3} : Schedule{{{0, 0}, {0, 1}}, 2};
}

// acc (32 rows of W x 32 tokens, rows ld floats apart) += the depth blocks of one chunk, with
// `per` steps of `next` after each block's products.
template <DType T>
void block(int blocks, int groups, const Schedule& plan, const uint32_t* w, const uint32_t* x, float* acc,
           int64_t ld, bool first, PackW<T>* next, int per) {
    constexpr int kParts = Weight<T>::kParts;
    const int64_t stride = ld * 4;
    if (first) {
        _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    } else {
        _tile_loadd(0, acc, stride); _tile_loadd(1, acc + 16, stride);
        _tile_loadd(2, acc + 16 * ld, stride); _tile_loadd(3, acc + 16 * ld + 16, stride);
    }
    for (int b = 0; b < blocks; ++b, w += 2 * kParts * kWords, x += groups * 3 * kWords) {
        int held_w = -1, held_x = -1;
        for (int s = 0; s < plan.n; ++s) {
            const Product p = plan.p[s];
            if (p.w != held_w) {  // both halves of the rows
                _tile_loadd(4, w + p.w * kWords, 64); _tile_loadd(5, w + (kParts + p.w) * kWords, 64);
                held_w = p.w;
            }
            if (p.x != held_x) {  // both token groups
                _tile_loadd(6, x + p.x * kWords, 64); _tile_loadd(7, x + (3 + p.x) * kWords, 64);
                held_x = p.x;
            }
            _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7); _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7);
            if (next) next->step(per * (s + 1) / plan.n - per * s / plan.n);
        }
    }
    _tile_stored(0, acc, stride); _tile_stored(1, acc + 16, stride);
    _tile_stored(2, acc + 16 * ld, stride); _tile_stored(3, acc + 16 * ld + 16, stride);
}

template <class T>
using Buffer = std::vector<T, xsimd::aligned_allocator<T, 64>>;

// Rows [nb, ne) of W (columns of C) for all tokens, on the calling thread, share `part` of
// `parts`. When the shares run together in one OpenMP team (GemmArgs::team), the team converts
// x once, each thread its part of the token groups into one buffer, instead of every thread all
// of it (the same tiles either way).
template <DType T>
void rows_amx(const GemmArgs& g, int nb, int ne, int part, int parts) {
    constexpr int kParts = Weight<T>::kParts;
    const int groups = (g.M + 31) / 32 * 2, ld = groups * 16, span = (ne - nb + 31) / 32 * 32;
    constexpr size_t kBlocks = kChunk / kDepth;
    const size_t x_words = kBlocks * groups * 3 * kWords;
    thread_local Buffer<uint32_t> own, wt;
    thread_local Buffer<float> acc;
    uint32_t* xt = nullptr;
    int* thirds = nullptr;  // the team's pack_x results, one per share
    const bool team = g.team && parts > 1;
    if (team) {
#pragma omp single copyprivate(xt, thirds)
        {
            thread_local Buffer<uint32_t> shared;
            thread_local std::vector<int> flags;
            if (shared.size() < x_words) shared.resize(x_words);
            if (flags.size() < static_cast<size_t>(parts)) flags.resize(parts);
            xt = shared.data(), thirds = flags.data();
        }
    } else {
        if (own.size() < x_words) own.resize(x_words);
        xt = own.data();
    }
    if (wt.size() < kBlocks * 4 * kParts * kWords) wt.resize(kBlocks * 4 * kParts * kWords);  // this block's, the next's
    if (acc.size() < static_cast<size_t>(span) * ld) acc.resize(static_cast<size_t>(span) * ld);
    if (nb < ne) configure_tiles();
    for (int k0 = 0; k0 < g.K; k0 += kChunk) {
        const int kc = std::min(kChunk, g.K - k0), blocks = (kc + kDepth - 1) / kDepth;
        bool third;
        if (team) {
            if (k0 > 0) {
#pragma omp barrier
            }  // every thread is done with the previous chunk's tiles
            thirds[part] = pack_x(g, groups, groups * part / parts, groups * (part + 1) / parts, k0, kc, xt);
#pragma omp barrier
            third = std::any_of(thirds, thirds + parts, [](int t) { return t != 0; });
        } else {
            third = pack_x(g, groups, 0, groups, k0, kc, xt);
        }
        if (nb >= ne) continue;
        const Schedule plan = schedule<T>(third);
        uint32_t* w[2] = {wt.data(), wt.data() + kBlocks * 2 * kParts * kWords};
        PackW<T>(g, nb, ne, k0, kc, w[0]).finish();
        for (int n0 = nb; n0 < ne; n0 += 32) {
            std::optional<PackW<T>> next;
            if (n0 + 32 < ne) next.emplace(g, n0 + 32, ne, k0, kc, w[1]);
            const int calls = blocks * groups / 2, per = next ? (next->items() + calls - 1) / calls : 0;
            for (int t = 0; t < groups; t += 2)
                block<T>(blocks, groups, plan, w[0], xt + t * 3 * kWords, acc.data() + (n0 - nb) * ld + t * 16, ld,
                         k0 == 0, next ? &*next : nullptr, per);
            if (next) next->finish();
            std::swap(w[0], w[1]);
        }
    }
    if (nb >= ne) return;
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
    // x W^T over float weights with fewer tokens than rows of W (prompts); the rest on the FMA units.
    const bool prompt = g.M > 0 && g.K > 0 && g.b_rs == 1 && g.b_cs != 1 && g.M < g.N;
    if (!prompt || (g.b_type != DType::F32 && g.b_type != DType::F16 && g.b_type != DType::BF16))
        return gemm_avx512(g, part, parts);
    const int64_t groups = (g.N + 31) / 32;  // shares are whole 32-row blocks
    const int nb = static_cast<int>(groups * part / parts) * 32;
    const int ne = static_cast<int>(std::min<int64_t>(g.N, groups * (part + 1) / parts * 32));
    if (nb >= ne && !g.team) return;  // (a team's threads all convert their part of x)
    switch (g.b_type) {
        case DType::F32: return rows_amx<DType::F32>(g, nb, ne, part, parts);
        case DType::F16: return rows_amx<DType::F16>(g, nb, ne, part, parts);
        default: return rows_amx<DType::BF16>(g, nb, ne, part, parts);
    }
}

}  // namespace lm::simd
