// One weight block in and out of the 16-row packed layouts of simd/repack.h: Packed<Block>
// has kBytes (of a packed block: 16 rows' worth) and pack(x, r, out), which writes block x of
// row r (< 16) of a group into the packed block `out` (only row r's bytes and bits: the
// other rows' are kept, whatever the memory held before), and unpack(in, r, &x), its exact
// inverse. repack.cpp packs with them at load time; the integer GEMM unpacks rows with them,
// so ggml's copy of a packed matrix is never needed again.
// Plain byte moves, shared by repack.cpp and the qgemm files. In an unnamed namespace: each
// file (built for its own ISA) keeps its own copy; as inline functions of external linkage the
// linker kept one, at -O1 the AVX-512 one (SIGILL on AVX2-only CPUs under make test-asan).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "weights/quant.h"

namespace lm {
namespace {
namespace packed {

// The 32-bit word of `bytes` at byte offset `at` <-> word r of the 64-byte register at `reg`.
inline void put_word(uint8_t* reg, int r, const uint8_t* bytes, int at) { std::memcpy(reg + 4 * r, bytes + at, 4); }
inline void get_word(const uint8_t* reg, int r, uint8_t* bytes, int at) { std::memcpy(bytes + at, reg + 4 * r, 4); }
// Words 0..n-1 of `bytes` <-> word r of the n registers from `regs` on.
inline void put_words(uint8_t* regs, int r, const uint8_t* bytes, int n) {
    for (int s = 0; s < n; ++s) put_word(regs + 64 * s, r, bytes, 4 * s);
}
inline void get_words(const uint8_t* regs, int r, uint8_t* bytes, int n) {
    for (int s = 0; s < n; ++s) get_word(regs + 64 * s, r, bytes, 4 * s);
}
inline void put_fp16(uint8_t* out, int r, uint16_t d) { std::memcpy(out + 2 * r, &d, 2); }
inline uint16_t get_fp16(const uint8_t* in, int r) {
    uint16_t d;
    std::memcpy(&d, in + 2 * r, 2);
    return d;
}

}  // namespace packed

template <class Block>
struct Packed;

template <>
struct Packed<block_q4_0> {
    static constexpr size_t kBytes = 288, kDAt = 256;  // kDAt: the 16 fp16 d
    static void pack(const block_q4_0& x, int r, uint8_t* out) {
        packed::put_words(out, r, x.qs, 4);
        packed::put_fp16(out + kDAt, r, x.d);
    }
    static void unpack(const uint8_t* in, int r, block_q4_0* x) {
        packed::get_words(in, r, x->qs, 4);
        x->d = packed::get_fp16(in + kDAt, r);
    }
};

template <>
struct Packed<block_q4_1> {
    static constexpr size_t kBytes = 320, kDAt = 256, kMAt = 288;
    static void pack(const block_q4_1& x, int r, uint8_t* out) {
        packed::put_words(out, r, x.qs, 4);
        packed::put_fp16(out + kDAt, r, x.d);
        packed::put_fp16(out + kMAt, r, x.m);
    }
    static void unpack(const uint8_t* in, int r, block_q4_1* x) {
        packed::get_words(in, r, x->qs, 4);
        x->d = packed::get_fp16(in + kDAt, r);
        x->m = packed::get_fp16(in + kMAt, r);
    }
};

// The fifth bits: for register s, a 64-bit mask per nibble half (low: elements 4s.., high:
// 16 + 4s..), bits 4r..4r+3 for row r.
template <>
struct Packed<block_q5_0> {
    static constexpr size_t kBytes = 352, kMaskAt = 256, kDAt = 320;
    static void pack(const block_q5_0& x, int r, uint8_t* out) {
        packed::put_words(out, r, x.qs, 4);
        uint32_t qh;
        std::memcpy(&qh, x.qh, 4);
        for (int s = 0; s < 4; ++s)
            for (int half = 0; half < 2; ++half) {
                uint64_t mask;
                uint8_t* at = out + kMaskAt + 16 * s + 8 * half;
                std::memcpy(&mask, at, 8);
                mask = (mask & ~(uint64_t{0xF} << (4 * r))) |
                       static_cast<uint64_t>((qh >> (16 * half + 4 * s)) & 0xF) << (4 * r);
                std::memcpy(at, &mask, 8);
            }
        packed::put_fp16(out + kDAt, r, x.d);
    }
    static void unpack(const uint8_t* in, int r, block_q5_0* x) {
        packed::get_words(in, r, x->qs, 4);
        uint32_t qh = 0;
        for (int s = 0; s < 4; ++s)
            for (int half = 0; half < 2; ++half) {
                uint64_t mask;
                std::memcpy(&mask, in + kMaskAt + 16 * s + 8 * half, 8);
                qh |= static_cast<uint32_t>((mask >> (4 * r)) & 0xF) << (16 * half + 4 * s);
            }
        std::memcpy(x->qh, &qh, 4);
        x->d = packed::get_fp16(in + kDAt, r);
    }
};

// Codes stored unsigned: qs + 128 (bit 7 flipped).
template <>
struct Packed<block_q8_0> {
    static constexpr size_t kBytes = 544, kDAt = 512;
    static void pack(const block_q8_0& x, int r, uint8_t* out) {
        uint8_t codes[QK];
        for (int j = 0; j < QK; ++j) codes[j] = static_cast<uint8_t>(x.qs[j] ^ 0x80);
        packed::put_words(out, r, codes, 8);
        packed::put_fp16(out + kDAt, r, x.d);
    }
    static void unpack(const uint8_t* in, int r, block_q8_0* x) {
        uint8_t codes[QK];
        packed::get_words(in, r, codes, 8);
        for (int j = 0; j < QK; ++j) x->qs[j] = static_cast<int8_t>(codes[j] ^ 0x80);
        x->d = packed::get_fp16(in + kDAt, r);
    }
};

// Scales and mins stored one byte each (6 bits used); unpack encodes them back into ggml's 12
// bytes (the inverse of q4_K_scale_min: all 96 bits carry one of the 16 six-bit values).
template <>
struct Packed<block_q4_K> {
    static constexpr size_t kBytes = 2368;
    static void pack(const block_q4_K& x, int r, uint8_t* out) {
        for (int h = 0; h < 2; ++h)
            for (int l = 0; l < 16; ++l) packed::put_word(out + 64 * (16 * h + l), r, x.qs, 64 * h + 4 * l);
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, m;
            q4_K_scale_min(j, x.scales, &sc, &m);
            out[2048 + 16 * j + r] = sc;
            out[2176 + 32 * (j / 2) + 2 * r + j % 2] = m;
        }
        packed::put_fp16(out + 2304, r, x.d);
        packed::put_fp16(out + 2336, r, x.dmin);
    }
    static void unpack(const uint8_t* in, int r, block_q4_K* x) {
        for (int h = 0; h < 2; ++h)
            for (int l = 0; l < 16; ++l) packed::get_word(in + 64 * (16 * h + l), r, x->qs, 64 * h + 4 * l);
        uint8_t sc[8], m[8];
        for (int j = 0; j < 8; ++j) {
            sc[j] = in[2048 + 16 * j + r];
            m[j] = in[2176 + 32 * (j / 2) + 2 * r + j % 2];
        }
        for (int j = 0; j < 4; ++j) {
            x->scales[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
            x->scales[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
            x->scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
        }
        x->d = packed::get_fp16(in + 2304, r);
        x->dmin = packed::get_fp16(in + 2336, r);
    }
};

template <>
struct Packed<block_q6_K> {
    static constexpr size_t kBytes = 3360;
    static void pack(const block_q6_K& x, int r, uint8_t* out) {
        for (int h = 0; h < 2; ++h) {
            for (int l = 0; l < 16; ++l) packed::put_word(out + 64 * (16 * h + l), r, x.ql, 64 * h + 4 * l);
            for (int l = 0; l < 8; ++l) packed::put_word(out + 2048 + 64 * (8 * h + l), r, x.qh, 32 * h + 4 * l);
        }
        for (int j = 0; j < 16; ++j) out[3072 + 16 * j + r] = static_cast<uint8_t>(x.scales[j]);
        packed::put_fp16(out + 3328, r, x.d);
    }
    static void unpack(const uint8_t* in, int r, block_q6_K* x) {
        for (int h = 0; h < 2; ++h) {
            for (int l = 0; l < 16; ++l) packed::get_word(in + 64 * (16 * h + l), r, x->ql, 64 * h + 4 * l);
            for (int l = 0; l < 8; ++l) packed::get_word(in + 2048 + 64 * (8 * h + l), r, x->qh, 32 * h + 4 * l);
        }
        for (int j = 0; j < 16; ++j) x->scales[j] = static_cast<int8_t>(in[3072 + 16 * j + r]);
        x->d = packed::get_fp16(in + 3328, r);
    }
};

}  // namespace
}  // namespace lm
