// The kernel tables behind matmul, chosen at run time by weight type and ISA (dispatch.cpp).
// Three families, each with a scalar reference or tested against one:
//   tile kernels  (dot_*.cpp)    a few rows x a few tokens of dot products; decode and small n
//   float GEMM    (gemm*.h/cpp)  f32/f16 weights, n >= 8, and training: packed, cache-blocked
//   integer GEMM  (qgemm*.h/cpp) block-quantized weights, n >= 8, AVX-512 VNNI and AVX2
//   packed tiles  (repack*.cpp)  decode over load-time interleaved copies (simd/repack.h)
// plus the activation quantizers (quantize_avx512.cpp, quantize_avx2.cpp). Only simd/ and tests
// include this.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "simd/matmul.h"
#include "weights/dtype.h"

namespace lm::simd {

// Instruction-set levels with their own kernels. On x86 each level includes the ones below;
// Amx is Avx512 plus the AMX tile unit (bf16 and int8), which the prompt GEMMs use.
enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2, Neon = 3, NeonDot = 4, Amx = 5 };  // NeonDot: + sdot
const char* isa_name(Isa isa);
Isa best_isa();                         // the best level this CPU (and build) reaches
bool isa_reachable(Isa isa);            // can kernels of this level run here?
std::vector<Isa> reachable_isas();      // scalar first, best last
Isa default_isa();                      // best_isa(), or the reachable level named by $LM_ISA
Isa active_isa();                       // the level matmul uses: default_isa() unless forced
void force_isa(Isa isa);                // for tests and benchmarks; unreachable levels give best_isa()

// y[c * ldy + r] = dot(W row r, X row c) for r < nr and c < nc, over k elements. W rows are
// w_stride bytes apart, X rows x_stride bytes apart; X holds the activations already
// converted to activation_type(weight type). Every output is computed with the same
// arithmetic whatever nr and nc are, so results do not depend on how work is split.
using TileFn = void (*)(int64_t k, const void* w, size_t w_stride, int nr, const void* x, size_t x_stride,
                        int nc, float* y, int64_t ldy);

// The type ggml converts the activations to for a weight type (its vec_dot_type):
// f32 -> f32, f16 -> f16, bf16 -> bf16, q8_0/q4_0/q5_0 -> q8_0, q4_1/q5_1 -> q8_1, the k-quants -> q8_K.
// Returns false when lm cannot compute with the weight type.
bool activation_type(DType weight, DType* out);

// The tile kernel for a weight type at a given ISA (falling back to lower levels for types
// a level does not specialize); nullptr when the type is not supported at all.
TileFn tile_kernel(DType weight, Isa isa);

// Converts n activations (a multiple of the block size) to an activation type, bit-identical
// to quantize_row. activation_quantizer never returns nullptr (it falls back to quantize_row).
using QuantizeFn = void (*)(const float* x, void* dst, int64_t n);
QuantizeFn activation_quantizer(DType act, Isa isa);
QuantizeFn avx512_quantizer(DType act);  // nullptr for types without a vector version
QuantizeFn avx2_quantizer(DType act);    // q8_0, q8_1, q8_K
// Rounds n floats to the nearest f16 values (as f32): what f16 weights' GEMM multiplies by.
void round_to_f16(const float* x, float* out, int64_t n, Isa isa);
void round_to_f16_avx512(const float* x, float* out, int64_t n);

// Per-ISA tables: nullptr for types the level does not specialize.
TileFn scalar_tile(DType weight);
TileFn avx2_tile(DType weight);
TileFn avx512_tile(DType weight);
TileFn neon_tile(DType weight);
TileFn neon_dot_tile(DType weight);

// The packed float GEMM (simd/gemm.h, API in simd/matmul.h): share `part` of `parts` of the
// product on the calling thread. Every level has one (the Scalar level's is gemm_baseline,
// built for the compiler's baseline vector ISA).
using GemmFn = void (*)(const GemmArgs& g, int part, int parts);
GemmFn gemm_kernel(Isa isa);
void gemm_baseline(const GemmArgs& g, int part, int parts);
void gemm_avx2(const GemmArgs& g, int part, int parts);
void gemm_avx512(const GemmArgs& g, int part, int parts);
void gemm_amx(const GemmArgs& g, int part, int parts);  // x W^T with M < N (prompts); the rest gemm_avx512
void gemm_neon(const GemmArgs& g, int part, int parts);

// Integer GEMM for block-quantized weights (simd/qgemm_*.cpp): as GemmFn, with w in the
// weight's block layout (packed: in the 16-row layout of simd/repack.h) and x already
// converted to activation_type(weight). nullptr when the ISA has none for the type.
using QGemmFn = void (*)(float* y, const void* w, bool packed, const void* x, int64_t m, int64_t k, int n,
                         int threads);
QGemmFn qgemm_kernel(DType weight, Isa isa);
QGemmFn avx512_qgemm(DType weight);
QGemmFn avx2_qgemm(DType weight);  // q8_0, q4_0, q4_1, q4_K, q6_K

// Kernels over repacked weights (simd/repack.h; decode, and prompts for the types matmul.cpp
// names): y as TileFn for nr <= 16 rows of the packed group at `group`. Bit-identical to
// scalar_tile(weight). nullptr: no kernel.
// For q8_0 activations (q4_0, q5_0, q8_0 weights) `sums` holds each block's code sum, k / 32
// per column, column c at sums + c * (k / 32) (see q8_0_code_sums): the weights' code offset
// times it starts each block's integer dot. Other types ignore it.
using PackedTileFn = void (*)(int64_t k, const void* group, int nr, const void* x, size_t x_stride, const int32_t* sums,
                              int nc, float* y, int64_t ldy);
PackedTileFn packed_tile_kernel(DType weight, Isa isa);
PackedTileFn avx512_packed_tile(DType weight);
PackedTileFn avx2_packed_tile(DType weight);  // q4_0, q4_1, q8_0, q4_K, q6_K
// Prompts over packed q8_0 and q4_0 groups on the AMX tile unit (simd/repack_amx.cpp), for
// whole 16s of tokens, bit-identical to scalar_tile(weight). The activations come as tiles:
// for each 16 tokens, for each block, the 16 tokens' 32 codes (512 bytes) at codes, their 16
// scales as floats at scales; y as TileFn. nullptr: no kernel at that level.
using AmxTileFn = void (*)(int64_t k, const void* group, int nr, const int8_t* codes, const float* scales, int groups,
                           float* y, int64_t ldy);
AmxTileFn amx_tile_kernel(DType weight, Isa isa);
AmxTileFn amx_packed_tile(DType weight);
// The code sums of nb q8_0 blocks (PackedTileFn's `sums`).
void q8_0_code_sums(const void* x, int64_t nb, int32_t* sums);

}  // namespace lm::simd
