// Load-time repacking into the interleaved layouts documented in simd/repack.h (one block at a
// time: simd/packed_blocks.h). Runs once per matrix, so it is plain scalar code; the kernels
// that read these layouts are in repack_avx512.cpp and repack_avx2.cpp.
#include "simd/repack.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <vector>

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

// Groups g0..g1 of w's packed copy at `out` (a group = 16 rows, interleaved block by block).
template <class Block>
void pack_groups(const Tensor& w, uint8_t* out, int64_t g0, int64_t g1) {
    const int64_t rows = w.rows(), blocks = w.cols() / info(w.type).block_size;
    const size_t block_bytes = packed_block_bytes(w.type);
    for (int64_t g = g0; g < g1; ++g) {
        uint8_t* group = out + g * blocks * block_bytes;
        for (int64_t r = g * kPackedRows; r < std::min(rows, (g + 1) * kPackedRows); ++r) {
            const Block* row = reinterpret_cast<const Block*>(w.row(r));
            for (int64_t b = 0; b < blocks; ++b)
                Packed<Block>::pack(row[b], static_cast<int>(r % kPackedRows), group + b * block_bytes);
        }
    }
}

int64_t groups_of(const Tensor& w) { return (w.rows() + kPackedRows - 1) / kPackedRows; }

void repack_groups(const Tensor& w, uint8_t* out, int64_t g0, int64_t g1) {
    const int64_t groups = groups_of(w);
    if (g1 == groups) {  // the padding rows of the last group and the rounding after it
        const size_t last = (groups - 1) * packed_group_bytes(w.type, w.cols());
        std::memset(out + last, 0, packed_size(w) - last);
    }
    switch (w.type) {
        case DType::Q4_0: pack_groups<block_q4_0>(w, out, g0, g1); break;
        case DType::Q4_1: pack_groups<block_q4_1>(w, out, g0, g1); break;
        case DType::Q5_0: pack_groups<block_q5_0>(w, out, g0, g1); break;
        case DType::Q8_0: pack_groups<block_q8_0>(w, out, g0, g1); break;
        case DType::Q4_K: pack_groups<block_q4_K>(w, out, g0, g1); break;
        case DType::Q6_K: pack_groups<block_q6_K>(w, out, g0, g1); break;
        default: fail("repack: ", dtype_name(w.type), " has no packed layout");
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

void repack(Tensor& w, uint8_t* out) { repack(std::vector<Tensor*>{&w}, std::vector<uint8_t*>{out}, nullptr); }

void repack(const std::vector<Tensor*>& ws, const std::vector<uint8_t*>& outs, const std::function<void(size_t)>& done) {
    // Work items of kChunk groups, matrix after matrix: first[i] is matrix i's first item.
    constexpr int64_t kChunk = 4;
    std::vector<int64_t> first{0};
    for (const Tensor* w : ws) {
        if (packed_size(*w) == 0) fail("repack: ", w->name, " has no packed layout on this CPU");
        first.push_back(first.back() + (groups_of(*w) + kChunk - 1) / kChunk);
    }
    std::vector<std::atomic<int64_t>> left(ws.size());
    for (size_t i = 0; i < ws.size(); ++i) left[i] = first[i + 1] - first[i];
    std::atomic<int64_t> next{0};
    // One parallel region, items handed out one at a time: a thread the OS does not run for
    // a while holds up one item, not a barrier per matrix. The first touch of the copy's
    // pages (the kernel zeroing them) is shared out the same way.
#pragma omp parallel
    for (int64_t k; (k = next.fetch_add(1)) < first.back();) {
        const size_t i = std::upper_bound(first.begin(), first.end(), k) - first.begin() - 1;
        const int64_t g0 = (k - first[i]) * kChunk;
        repack_groups(*ws[i], outs[i], g0, std::min(groups_of(*ws[i]), g0 + kChunk));
        if (left[i].fetch_sub(1) == 1 && done) done(i);
    }
    for (size_t i = 0; i < ws.size(); ++i) ws[i]->packed = outs[i];
}

}  // namespace lm
