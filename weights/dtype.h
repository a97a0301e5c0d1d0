// Element types of tensors, numbered as ggml numbers them (GGUF stores these ids), with the
// block geometry of each. Block structs and (de)quantization live in weights/quant.h.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace lm {

enum class DType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    BF16 = 30,
};

struct DTypeInfo {
    const char* name;   // ggml's name, e.g. "q4_K"
    int block_size;     // elements per block (1 for plain floats)
    size_t block_bytes; // bytes per block
    bool supported;     // lm can compute with it (weights); others are only named
};

// Info for a raw ggml type id; nullptr when the id is not a type lm knows.
const DTypeInfo* dtype_info(uint32_t id);
inline const DTypeInfo& info(DType t) { return *dtype_info(static_cast<uint32_t>(t)); }
inline const char* dtype_name(DType t) { return info(t).name; }
// Parses "f32", "F16", "q8_0", "Q4_K" ... ; returns false when unknown.
bool parse_dtype(const char* name, DType* out);

// Bytes of one row of n elements; n must be a multiple of the block size (checked by callers).
inline size_t row_bytes(DType t, int64_t n) {
    const DTypeInfo& i = info(t);
    return static_cast<size_t>(n / i.block_size) * i.block_bytes;
}

// IEEE half and bfloat16 conversions (round to nearest even on the way down).
inline float f16_to_f32(uint16_t h) {
    uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: renormalize
            int e = -1;
            do { mant <<= 1; ++e; } while (!(mant & 0x400));
            bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | mant << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | mant << 13;
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline uint16_t f32_to_f16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffff;
    // NaN: quiet, the payload's top bits kept, as F16C's vcvtps2ph and NEON's fcvt give it.
    if (absx > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00 | (absx >> 13 & 0x3ff));
    if (absx == 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00);
    if (absx >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00);  // overflows to inf
    if (absx < 0x38800000u) {                                              // subnormal or zero
        if (absx < 0x33000000u) return static_cast<uint16_t>(sign);
        uint32_t e = absx >> 23, m = (absx & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e;  // 14 + (112 - e) ... into 10-bit mantissa
        uint32_t half = m >> shift, rem = m & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) ++half;
        return static_cast<uint16_t>(sign | half);
    }
    uint32_t h = ((absx - 0x38000000u) >> 13);
    uint32_t rem = absx & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
}

inline float bf16_to_f32(uint16_t b) {
    uint32_t bits = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline uint16_t f32_to_bf16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40);  // quiet NaN
    return static_cast<uint16_t>((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

}  // namespace lm
