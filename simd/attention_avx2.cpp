#include "simd/attention.h"
#include "simd/ops.h"
#include "simd/x86.h"

namespace lm::simd {

void attend_avx2(float* out, const float* q, const uint16_t* keys, const uint16_t* values, size_t stride, int len,
                 int head_dim, float scale, float* scratch) {
    float* att = scratch;
    float* q16 = scratch + len;
    for (int d = 0; d < head_dim; d += 8) {  // q through f16 and back
        const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(q + d), _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_ps(q16 + d, _mm256_cvtph_ps(h));
    }
    for (int t = 0; t < len; ++t) {
        const uint16_t* k = keys + t * stride;
        __m256 acc = _mm256_setzero_ps();
        for (int d = 0; d < head_dim; d += 8)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(q16 + d),
                                  _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k + d))), acc);
        att[t] = hsum256(acc) * scale;
    }
    softmax(att, len);
    for (int d = 0; d < head_dim; d += 8) _mm256_storeu_ps(out + d, _mm256_setzero_ps());
    for (int t = 0; t < len; ++t) {
        const float a = _cvtsh_ss(_cvtss_sh(att[t], _MM_FROUND_TO_NEAREST_INT));
        const __m256 av = _mm256_set1_ps(a);
        const uint16_t* v = values + t * stride;
        for (int d = 0; d < head_dim; d += 8) {
            const __m256 vv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + d)));
            _mm256_storeu_ps(out + d, _mm256_fmadd_ps(av, vv, _mm256_loadu_ps(out + d)));
        }
    }
}

}  // namespace lm::simd

// ---- q8_0 / q4_0 caches (attend_typed): scores against q in q8_0 blocks, values summed in f32.
#include "weights/quant.h"

namespace lm::simd {

namespace {
// The 32 codes of a q4_0 block as signed bytes (nibble - 8), in element order.
inline __m256i q4_0_codes(const block_q4_0& b) {
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
    const __m128i lo = _mm_and_si128(packed, _mm_set1_epi8(0x0F));
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F));
    return _mm256_sub_epi8(_mm256_set_m128i(hi, lo), _mm256_set1_epi8(8));
}

inline __m256i block_codes(const uint8_t* block, DType type) {
    if (type == DType::Q8_0)
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(reinterpret_cast<const block_q8_0*>(block)->qs));
    return q4_0_codes(*reinterpret_cast<const block_q4_0*>(block));
}

// Sum of a[i] * b[i] over 32 signed bytes, as 8 int32 lanes turned float.
inline __m256 dot32(__m256i a, __m256i b) {
    const __m256i prod = _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(prod, _mm256_set1_epi16(1)));
}
}  // namespace

bool attend_typed_avx2(float* out, const float* q, const KvView& kv, int len, int head_dim, float scale,
                       float* scratch) {
    const bool k_blocks = kv.k_type == DType::Q8_0 || kv.k_type == DType::Q4_0;
    const bool v_blocks = kv.v_type == DType::Q8_0 || kv.v_type == DType::Q4_0;
    if (!k_blocks || !v_blocks || head_dim % 32 != 0 || head_dim > 512) return false;
    const int nb = head_dim / 32;
    const size_t k_block = kv.k_type == DType::Q8_0 ? sizeof(block_q8_0) : sizeof(block_q4_0);
    const size_t v_block = kv.v_type == DType::Q8_0 ? sizeof(block_q8_0) : sizeof(block_q4_0);
    float* att = scratch;
    block_q8_0 qx[16];
    quantize_row(DType::Q8_0, q, qx, head_dim);  // the keys' activation type, as quantize_row
    __m256i qcodes[16];
    float qd[16];
    for (int b = 0; b < nb; ++b) {
        qcodes[b] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qx[b].qs));
        qd[b] = _cvtsh_ss(qx[b].d);
    }
    for (int t = 0; t < len; ++t) {
        const uint8_t* k = kv.keys + t * kv.k_row;
        __m256 acc = _mm256_setzero_ps();
        for (int b = 0; b < nb; ++b, k += k_block) {
            const float d = _cvtsh_ss(*reinterpret_cast<const uint16_t*>(k)) * qd[b];
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), dot32(block_codes(k, kv.k_type), qcodes[b]), acc);
        }
        att[t] = hsum256(acc) * scale;
    }
    softmax(att, len);
    __m256 o[64];
    for (int i = 0; i < head_dim / 8; ++i) o[i] = _mm256_setzero_ps();
    for (int t = 0; t < len; ++t) {
        const uint8_t* v = kv.values + t * kv.v_row;
        for (int b = 0; b < nb; ++b, v += v_block) {
            const __m256 w = _mm256_set1_ps(att[t] * _cvtsh_ss(*reinterpret_cast<const uint16_t*>(v)));
            __m256* ob = o + 4 * b;
            if (kv.v_type == DType::Q8_0) {  // 8 codes at a time straight from memory
                const int8_t* c = reinterpret_cast<const block_q8_0*>(v)->qs;
                for (int j = 0; j < 4; ++j) {
                    const __m128i c8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(c + 8 * j));
                    ob[j] = _mm256_fmadd_ps(w, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c8)), ob[j]);
                }
                continue;
            }
            const __m256i codes = q4_0_codes(*reinterpret_cast<const block_q4_0*>(v));
            const __m128i lo = _mm256_castsi256_si128(codes), hi = _mm256_extracti128_si256(codes, 1);
            ob[0] = _mm256_fmadd_ps(w, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), ob[0]);
            ob[1] = _mm256_fmadd_ps(w, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), ob[1]);
            ob[2] = _mm256_fmadd_ps(w, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), ob[2]);
            ob[3] = _mm256_fmadd_ps(w, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), ob[3]);
        }
    }
    for (int i = 0; i < head_dim / 8; ++i) _mm256_storeu_ps(out + 8 * i, o[i]);
    return true;
}

}  // namespace lm::simd
