// Load-time repacking into the interleaved layouts documented in simd/repack.h (one block at a
// time: simd/packed_blocks.h). Runs once per matrix, so it is plain scalar code; the kernels
// that read these layouts are in repack_avx512.cpp and repack_avx2.cpp.
#include "simd/repack.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "simd/kernels.h"
#include "simd/packed_blocks.h"
#include "weights/error.h"
#include "weights/quant.h"

namespace lm {

namespace {

std::atomic<bool> enabled{true};

// Bytes of one packed block (16 rows).
size_t packed_block_bytes(DType type) {
    switch (type) {
        case DType::Q4_0: return Packed<block_q4_0>::kBytes;
        case DType::Q4_1: return Packed<block_q4_1>::kBytes;
        case DType::Q5_0: return Packed<block_q5_0>::kBytes;
        case DType::Q8_0: return Packed<block_q8_0>::kBytes;
        case DType::Q4_K: return Packed<block_q4_K>::kBytes;
        case DType::Q6_K: return Packed<block_q6_K>::kBytes;
        default: return 0;
    }
}

// Groups are independent: the threads share them out (model load time halves on 2 cores).
template <class Block>
void pack_rows(const Tensor& w, uint8_t* out) {
    const int64_t rows = w.rows(), blocks = w.cols() / info(w.type).block_size;
    const int64_t groups = (rows + kPackedRows - 1) / kPackedRows;
    const size_t block_bytes = packed_block_bytes(w.type);
#pragma omp parallel for schedule(static)
    for (int64_t g = 0; g < groups; ++g) {
        uint8_t* group = out + g * blocks * block_bytes;
        for (int64_t r = g * kPackedRows; r < std::min(rows, (g + 1) * kPackedRows); ++r) {
            const Block* row = reinterpret_cast<const Block*>(w.row(r));
            for (int64_t b = 0; b < blocks; ++b)
                Packed<Block>::pack(row[b], static_cast<int>(r % kPackedRows), group + b * block_bytes);
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

size_t packed_size(const Tensor& w) {
    if (!repack_enabled() || !w.data || packed_group_bytes(w.type, w.cols()) == 0) return 0;
    if (w.cols() % info(w.type).block_size != 0 || w.rows() == 0) return 0;
    if (!simd::packed_tile_kernel(w.type, simd::best_isa())) return 0;
    const int64_t groups = (w.rows() + kPackedRows - 1) / kPackedRows;
    return (static_cast<size_t>(groups) * packed_group_bytes(w.type, w.cols()) + 63) / 64 * 64;
}

bool repack(Tensor& w, StreamedVector<uint8_t>& storage) {
    const size_t bytes = packed_size(w);
    if (bytes == 0) return false;
    storage.resize(bytes + 64);
    repack(w, storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64);
    return true;
}

void repack(Tensor& w, uint8_t* out) {
    // Only the last group (its padding rows) and the rounding after it are cleared here: the
    // rest is first touched by the packing threads, which share out the page faults too.
    const int64_t groups = (w.rows() + kPackedRows - 1) / kPackedRows;
    const size_t group_bytes = packed_group_bytes(w.type, w.cols());
    const size_t last = (groups - 1) * group_bytes;
    std::memset(out + last, 0, packed_size(w) - last);
    switch (w.type) {
        case DType::Q4_0: pack_rows<block_q4_0>(w, out); break;
        case DType::Q4_1: pack_rows<block_q4_1>(w, out); break;
        case DType::Q5_0: pack_rows<block_q5_0>(w, out); break;
        case DType::Q8_0: pack_rows<block_q8_0>(w, out); break;
        case DType::Q4_K: pack_rows<block_q4_K>(w, out); break;
        case DType::Q6_K: pack_rows<block_q6_K>(w, out); break;
        default: fail("repack: ", dtype_name(w.type), " has no packed layout");
    }
    w.packed = out;
}

}  // namespace lm
