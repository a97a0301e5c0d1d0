// Load-time repacking into the interleaved layouts documented in simd/repack.h. Runs once
// per matrix, so it is plain scalar code; the kernels that read these layouts are in
// repack_avx512.cpp.
#include "simd/repack.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "simd/kernels.h"
#include "weights/quant.h"

namespace lm {

namespace {

std::atomic<bool> enabled{true};

// Bytes of one packed block (16 rows) and the weight block it comes from.
size_t packed_block_bytes(DType type) {
    switch (type) {
        case DType::Q4_0: return 288;
        case DType::Q4_1: return 320;
        case DType::Q5_0: return 352;
        case DType::Q8_0: return 544;
        case DType::Q4_K: return 2368;
        case DType::Q6_K: return 3360;
        default: return 0;
    }
}

// The 32-bit word of `bytes` at byte offset `at`, as stored (little-endian order kept).
void put_word(uint8_t* out, int r, const uint8_t* bytes, int at) { std::memcpy(out + 4 * r, bytes + at, 4); }

void pack_fp16(uint8_t* out, int r, uint16_t d) { std::memcpy(out + 2 * r, &d, 2); }

// Block b of row r (of the group) into packed block `out`.
void pack_q4_0(const block_q4_0& x, int r, uint8_t* out) {
    for (int s = 0; s < 4; ++s) put_word(out + 64 * s, r, x.qs, 4 * s);
    pack_fp16(out + 256, r, x.d);
}

void pack_q4_1(const block_q4_1& x, int r, uint8_t* out) {
    for (int s = 0; s < 4; ++s) put_word(out + 64 * s, r, x.qs, 4 * s);
    pack_fp16(out + 256, r, x.d);
    pack_fp16(out + 288, r, x.m);
}

void pack_q5_0(const block_q5_0& x, int r, uint8_t* out) {
    for (int s = 0; s < 4; ++s) put_word(out + 64 * s, r, x.qs, 4 * s);
    uint32_t qh;
    std::memcpy(&qh, x.qh, 4);
    for (int s = 0; s < 4; ++s)
        for (int half = 0; half < 2; ++half) {
            uint64_t mask;
            uint8_t* at = out + 256 + 16 * s + 8 * half;
            std::memcpy(&mask, at, 8);
            const uint64_t bits = (qh >> (16 * half + 4 * s)) & 0xF;
            mask |= bits << (4 * r);
            std::memcpy(at, &mask, 8);
        }
    pack_fp16(out + 320, r, x.d);
}

void pack_q8_0(const block_q8_0& x, int r, uint8_t* out) {
    uint8_t codes[QK];
    for (int j = 0; j < QK; ++j) codes[j] = static_cast<uint8_t>(x.qs[j] ^ 0x80);
    for (int s = 0; s < 8; ++s) put_word(out + 64 * s, r, codes, 4 * s);
    pack_fp16(out + 512, r, x.d);
}

void pack_q4_K(const block_q4_K& x, int r, uint8_t* out) {
    for (int h = 0; h < 2; ++h)
        for (int l = 0; l < 16; ++l) put_word(out + 64 * (16 * h + l), r, x.qs, 64 * h + 4 * l);
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        q4_K_scale_min(j, x.scales, &sc, &m);
        out[2048 + 16 * j + r] = sc;
        out[2176 + 32 * (j / 2) + 2 * r + j % 2] = m;
    }
    pack_fp16(out + 2304, r, x.d);
    pack_fp16(out + 2336, r, x.dmin);
}

void pack_q6_K(const block_q6_K& x, int r, uint8_t* out) {
    for (int h = 0; h < 2; ++h) {
        for (int l = 0; l < 16; ++l) put_word(out + 64 * (16 * h + l), r, x.ql, 64 * h + 4 * l);
        for (int l = 0; l < 8; ++l) put_word(out + 2048 + 64 * (8 * h + l), r, x.qh, 32 * h + 4 * l);
    }
    for (int j = 0; j < 16; ++j) out[3072 + 16 * j + r] = static_cast<uint8_t>(x.scales[j]);
    pack_fp16(out + 3328, r, x.d);
}

// Groups are independent: the threads share them out (model load time halves on 2 cores).
template <class Block, void (*Pack)(const Block&, int, uint8_t*)>
void pack_rows(const Tensor& w, uint8_t* out) {
    const int64_t rows = w.rows(), blocks = w.cols() / info(w.type).block_size;
    const int64_t groups = (rows + kPackedRows - 1) / kPackedRows;
    const size_t block_bytes = packed_block_bytes(w.type);
#pragma omp parallel for schedule(static)
    for (int64_t g = 0; g < groups; ++g) {
        uint8_t* group = out + g * blocks * block_bytes;
        for (int64_t r = g * kPackedRows; r < std::min(rows, (g + 1) * kPackedRows); ++r) {
            const Block* row = reinterpret_cast<const Block*>(w.row(r));
            for (int64_t b = 0; b < blocks; ++b) Pack(row[b], static_cast<int>(r % kPackedRows), group + b * block_bytes);
        }
    }
}

}  // namespace

namespace simd {
void q8_0_code_sums(const void* x, int64_t nb, int32_t* sums) {
    const block_q8_0* blocks = static_cast<const block_q8_0*>(x);
    for (int64_t b = 0; b < nb; ++b) {
        int32_t s = 0;
        for (int8_t q : blocks[b].qs) s += q;
        sums[b] = s;
    }
}
}  // namespace simd

size_t packed_group_bytes(DType type, int64_t cols) {
    const size_t block_bytes = packed_block_bytes(type);
    return block_bytes ? block_bytes * static_cast<size_t>(cols / info(type).block_size) : 0;
}

void set_repack_enabled(bool on) { enabled.store(on, std::memory_order_relaxed); }
bool repack_enabled() { return enabled.load(std::memory_order_relaxed); }

bool repack(Tensor& w, StreamedVector<uint8_t>& storage) {
    if (!repack_enabled() || !w.data || packed_group_bytes(w.type, w.cols()) == 0) return false;
    if (w.cols() % info(w.type).block_size != 0 || w.rows() == 0) return false;
    if (!simd::packed_tile_kernel(w.type, simd::best_isa())) return false;
    const int64_t groups = (w.rows() + kPackedRows - 1) / kPackedRows;
    const size_t bytes = static_cast<size_t>(groups) * packed_group_bytes(w.type, w.cols());
    storage.assign(bytes + 64, 0);  // zero: the padding rows of the last group
    uint8_t* out = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
    switch (w.type) {
        case DType::Q4_0: pack_rows<block_q4_0, pack_q4_0>(w, out); break;
        case DType::Q4_1: pack_rows<block_q4_1, pack_q4_1>(w, out); break;
        case DType::Q5_0: pack_rows<block_q5_0, pack_q5_0>(w, out); break;
        case DType::Q8_0: pack_rows<block_q8_0, pack_q8_0>(w, out); break;
        case DType::Q4_K: pack_rows<block_q4_K, pack_q4_K>(w, out); break;
        case DType::Q6_K: pack_rows<block_q6_K, pack_q6_K>(w, out); break;
        default: return false;
    }
    w.packed = out;
    return true;
}

}  // namespace lm
