// matmul: converts the activations to each weight type's partner type once per call (for all
// the weights of the call), then either runs a GEMM per weight (prompts) or splits the rows of
// all the weights into fixed chunks that OpenMP threads take in a static order (decode). Each
// output is computed by exactly one thread with the same arithmetic for any thread count.
// Also the strided GEMM entry points of simd/matmul.h.
#include "simd/matmul.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <utility>
#include <vector>

#include "simd/kernels.h"
#include "simd/repack.h"
#include "weights/error.h"
#include "weights/quant.h"

namespace lm {

namespace {

constexpr int64_t kSingleThreadWork = 1 << 16;  // weights x tokens below which one thread is faster
constexpr int64_t kRowChunk = kPackedRows;      // rows per unit of work; fixed, so results never depend on threads
constexpr int kColTile = 4;                     // activation rows handed to a tile kernel at once
constexpr int kGemmMinTokens = 8;               // from here the packed GEMMs beat the tile kernels

void check(const Tensor& w, const float* x, float* y, int n) {
    if (!w.data) fail("matmul: weight ", w.name, " has no data");
    if (n > 0 && (!x || !y)) fail("matmul: null activations or output for weight ", w.name);
    const int bs = info(w.type).block_size;
    if (w.cols() % bs != 0)
        fail("matmul: weight ", w.name, " has ", w.cols(), " columns, not a multiple of the ", dtype_name(w.type),
             " block size ", bs);
}

struct Job {
    simd::TileFn tile;
    simd::PackedTileFn packed;  // set when w has a packed copy this ISA reads: used instead of tile
    simd::AmxTileFn amx;        // set for prompts the tile unit multiplies: used instead of packed
    size_t group_bytes;         // of the packed copy, per chunk of rows
    const Tensor* w;
    const uint8_t* x;  // converted activations
    size_t x_stride;
    const int32_t* sums;  // of x's blocks, for packed kernels over q8_0 activations
    const int8_t* codes;  // x as the amx kernels take it (AmxTileFn), whole 16s of tokens
    const float* scales;
    float* y;
    int n;
};

void run_chunks(const Job& job, int64_t first, int64_t last) {
    const int64_t rows = job.w->rows();
    for (int64_t ch = first; ch < last; ++ch) {
        const int64_t r0 = ch * kRowChunk;
        const int nr = static_cast<int>(std::min(kRowChunk, rows - r0));
        if (job.packed) {
            const uint8_t* group = static_cast<const uint8_t*>(job.w->packed) + ch * job.group_bytes;
            int c0 = 0;  // the columns the amx kernel takes, then the rest
            if (job.amx) {
                job.amx(job.w->cols(), group, nr, job.codes, job.scales, job.n / 16, job.y + r0, rows);
                c0 = job.n / 16 * 16;
            }
            if (c0 < job.n)
                job.packed(job.w->cols(), group, nr, job.x + c0 * job.x_stride, job.x_stride,
                           job.sums + c0 * (job.w->cols() / info(DType::Q8_0).block_size), job.n - c0,
                           job.y + c0 * rows + r0, rows);
            continue;
        }
        for (int c0 = 0; c0 < job.n; c0 += kColTile) {
            const int nc = std::min(kColTile, job.n - c0);
            job.tile(job.w->cols(), job.w->row(r0), job.w->row_size(), nr, job.x + c0 * job.x_stride, job.x_stride,
                     nc, job.y + c0 * rows + r0, rows);
        }
    }
}

// f32 / f16 weights with several tokens: the packed GEMM, y = x W^T (for f16 weights x is
// already rounded to f16, as the tile kernels see it).
void float_gemm(float* y, const Tensor& w, const float* x, int n, int threads) {
    const int64_t cols = w.cols();
    const GemmArgs g{y, w.rows(), x, cols, 1, w.data, w.type, 1, cols,
                     n, static_cast<int>(w.rows()), static_cast<int>(cols), true};
    gemm(g, threads);
}

}  // namespace

void gemm_share(const GemmArgs& g, int part, int parts) { simd::gemm_kernel(simd::active_isa())(g, part, parts); }

void gemm(const GemmArgs& g, int threads) {
    const double work = static_cast<double>(g.M) * g.N * g.K;
    if (threads <= 0) threads = omp_get_max_threads();
    if (threads == 1 || work < kSingleThreadWork * 4 || omp_in_parallel()) return gemm_share(g, 0, 1);
    GemmArgs shared = g;
    shared.team = true;
#pragma omp parallel num_threads(threads)
    gemm_share(shared, omp_get_thread_num(), omp_get_num_threads());
}

namespace {

constexpr int kMaxParts = 4;

// x converted to the activation types of the weights of one call, each type once.
class Converted {
public:
    Converted(const float* x, int n, int64_t cols) : x_(x), n_(n), cols_(cols) {}
    // x as floats, rounded to f16 values for f16 weights (what their float GEMM multiplies).
    const float* floats(DType weight) {
        if (weight != DType::F16) return x_;
        const size_t count = static_cast<size_t>(n_) * cols_;
        if (!rounded_done_) {
            if (rounded_.size() < count) rounded_.resize(count);
            simd::round_to_f16(x_, rounded_.data(), static_cast<int64_t>(count), simd::active_isa());
            rounded_done_ = true;
        }
        return rounded_.data();
    }
    // x as rows of `act` (row_bytes(act, cols) apart); F32 is x itself.
    const uint8_t* get(DType act, int threads) {
        if (act == DType::F32) return reinterpret_cast<const uint8_t*>(x_);
        int slot = 0;
        while (slot < count_ && types_[slot] != act) ++slot;
        if (slot < count_) return scratch_[slot].data();
        if (count_ == kMaxParts) fail("matmul: too many activation types in one call");
        types_[count_++] = act;
        const size_t stride = row_bytes(act, cols_);
        std::vector<uint8_t>& buf = scratch_[slot];
        if (buf.size() < stride * n_) buf.resize(stride * n_);
        uint8_t* out = buf.data();
        const simd::QuantizeFn quantize = simd::activation_quantizer(act, simd::active_isa());
#pragma omp parallel for schedule(static) num_threads(threads) if (n_ >= kGemmMinTokens && threads > 1)
        for (int t = 0; t < n_; ++t) quantize(x_ + t * cols_, out + t * stride, cols_);
        return out;
    }
    // get(Q8_0)'s whole 16s of rows as the amx kernels take them (AmxTileFn): codes, then scales.
    std::pair<const int8_t*, const float*> amx_tiles() {
        const int64_t nb = cols_ / info(DType::Q8_0).block_size;
        const int groups = n_ / 16;
        if (!tiles_done_) {
            const uint8_t* rows = get(DType::Q8_0, 1);
            const size_t stride = row_bytes(DType::Q8_0, cols_);
            if (tiles_.size() < static_cast<size_t>(groups) * nb * 16 * 32) tiles_.resize(static_cast<size_t>(groups) * nb * 16 * 32);
            if (scales_.size() < static_cast<size_t>(groups) * nb * 16) scales_.resize(static_cast<size_t>(groups) * nb * 16);
            for (int g = 0; g < groups; ++g)
                for (int64_t b = 0; b < nb; ++b)
                    for (int i = 0; i < 16; ++i) {
                        const block_q8_0& block = reinterpret_cast<const block_q8_0*>(rows + (g * 16 + i) * stride)[b];
                        std::memcpy(&tiles_[((g * nb + b) * 16 + i) * 32], block.qs, 32);
                        scales_[(g * nb + b) * 16 + i] = f16_to_f32(block.d);
                    }
            tiles_done_ = true;
        }
        return {tiles_.data(), scales_.data()};
    }
    // The code sums of get(Q8_0)'s blocks, row after row (what packed kernels start from).
    const int32_t* q8_0_sums() {
        if (!sums_done_) {
            const uint8_t* rows = get(DType::Q8_0, 1);
            const int64_t nb = cols_ / info(DType::Q8_0).block_size;
            if (sums_.size() < static_cast<size_t>(n_ * nb)) sums_.resize(n_ * nb);
            const size_t stride = row_bytes(DType::Q8_0, cols_);
            for (int t = 0; t < n_; ++t) simd::q8_0_code_sums(rows + t * stride, nb, &sums_[t * nb]);
            sums_done_ = true;
        }
        return sums_.data();
    }

private:
    // Grow to the largest call, never shrink.
    static thread_local std::vector<uint8_t> scratch_[kMaxParts];
    static thread_local std::vector<float> rounded_;
    static thread_local std::vector<int32_t> sums_;
    static thread_local std::vector<int8_t> tiles_;
    static thread_local std::vector<float> scales_;
    bool rounded_done_ = false, sums_done_ = false, tiles_done_ = false;
    const float* x_;
    int n_;
    int64_t cols_;
    DType types_[kMaxParts];
    int count_ = 0;
};
thread_local std::vector<uint8_t> Converted::scratch_[kMaxParts];
thread_local std::vector<float> Converted::rounded_;
thread_local std::vector<int32_t> Converted::sums_;
thread_local std::vector<int8_t> Converted::tiles_;
thread_local std::vector<float> Converted::scales_;

DType activation(DType weight) {
    DType act;
    simd::activation_type(weight, &act);
    return act;
}

int64_t row_chunks(const Tensor& w) { return (w.rows() + kRowChunk - 1) / kRowChunk; }

// Threads worth waking for `work` multiply-adds in `chunks` units.
int team(int64_t work, int64_t chunks, int threads) {
    return work < kSingleThreadWork ? 1 : static_cast<int>(std::min<int64_t>(threads, chunks));
}

// The tile and packed kernels: the chunks of every part's rows shared out as one list,
// contiguous and equal shares in thread order (the static schedule, spelled out).
void matmul_tiles(const MatmulPart* parts, int count, Converted& x, int n, int threads) {
    Job jobs[kMaxParts];
    int64_t first_chunk[kMaxParts + 1] = {0};
    int64_t work = 0;
    for (int i = 0; i < count; ++i) {
        const Tensor& w = *parts[i].w;
        const int64_t cols = w.cols();
        const DType act = activation(w.type);
        Job& job = jobs[i];
        job = Job{simd::tile_kernel(w.type, simd::active_isa()), nullptr, nullptr, 0, &w, x.get(act, threads),
                  row_bytes(act, cols), nullptr, nullptr, nullptr, parts[i].y, n};
        if (act != DType::F32 && w.packed && (job.packed = simd::packed_tile_kernel(w.type, simd::active_isa()))) {
            job.group_bytes = packed_group_bytes(w.type, cols);
            if (n >= 16 && (job.amx = simd::amx_tile_kernel(w.type, simd::active_isa())))
                std::tie(job.codes, job.scales) = x.amx_tiles();
            if (act == DType::Q8_0 && (!job.amx || n % 16 != 0)) job.sums = x.q8_0_sums();  // the packed kernels
        }
        first_chunk[i + 1] = first_chunk[i] + row_chunks(w);
        work += w.rows() * cols * n;
    }
    const int64_t total = first_chunk[count];
    const int nt = team(work, total, threads);
    auto run = [&](int64_t lo, int64_t hi) {  // global chunks [lo, hi)
        for (int i = 0; i < count; ++i) {
            const int64_t a = std::max(lo, first_chunk[i]), b = std::min(hi, first_chunk[i + 1]);
            if (a < b) run_chunks(jobs[i], a - first_chunk[i], b - first_chunk[i]);
        }
    };
    if (nt == 1) return run(0, total);
#pragma omp parallel num_threads(nt)
    {
        const int64_t id = omp_get_thread_num(), share = omp_get_num_threads();
        run(total * id / share, total * (id + 1) / share);
    }
}

// Prompts over packed weights of the 32-element types: their packed kernels take 8 tokens per
// pass over each 16-row group. Measured against the integer GEMM (which interleaves 16 blocks
// of every row on each call): q8_0 faster at every shape (stories110M pp128 +28 %, tinyllama
// +6 %); the 4- and 5-bit types faster where rows are not whole 16-block groups, which the
// GEMM pads (k = 768: stories110M +22 %), slower where they are (tinyllama -7 %). The
// k-quants' packed kernels take one token at a time: those stay on the integer GEMM, which
// reads their packed copy. On AMX, q8_0 and q4_0 prompts multiply on the tile unit. On AVX2
// the integer GEMM (8 blocks a group, panels of 16 rows) beats the packed kernels for every
// type it has, at every shape measured (stories110M, tinyllama-1.1b; q8_0 ~1.5x, q4_0 ~2x,
// q4_K_M ~2x).
bool packed_prompts(const Tensor& w) {
    if (!w.packed || !simd::packed_tile_kernel(w.type, simd::active_isa())) return false;
    if (simd::amx_tile_kernel(w.type, simd::active_isa())) return true;
    if (simd::active_isa() == simd::Isa::Avx2) return !simd::qgemm_kernel(w.type, simd::Isa::Avx2);
    switch (w.type) {
        case DType::Q8_0: return true;
        case DType::Q4_0:
        case DType::Q4_1:
        case DType::Q5_0: return w.cols() / info(w.type).block_size % 16 != 0;
        default: return false;
    }
}

// Prompts: a GEMM per weight (the float or the integer one), the activations still converted
// once per type; weights without a GEMM here take the tile kernels.
void matmul_gemms(const MatmulPart* parts, int count, Converted& x, int n, int threads) {
    for (int i = 0; i < count; ++i) {
        const Tensor& w = *parts[i].w;
        const int64_t work = checked_mul(static_cast<uint64_t>(w.rows() * w.cols()), static_cast<uint64_t>(n), "matmul");
        const int nt = team(work, row_chunks(w), threads);
        // bf16 stays on the vdpbf16ps tile kernel: its order reproduces llama.cpp's logits
        // exactly, and bf16-rounded activations amplify any other summation order.
        if (w.type == DType::F32 || w.type == DType::F16) {
            float_gemm(parts[i].y, w, x.floats(w.type), n, nt);
        } else if (packed_prompts(w)) {
            matmul_tiles(&parts[i], 1, x, n, nt);
        } else if (const simd::QGemmFn qgemm = simd::qgemm_kernel(w.type, simd::active_isa())) {
            qgemm(parts[i].y, w.packed ? w.packed : w.data, w.packed != nullptr, x.get(activation(w.type), nt), w.rows(),
                  w.cols(), n, nt);
        } else {
            matmul_tiles(&parts[i], 1, x, n, nt);
        }
    }
}

void check_part(const Tensor& w, const float* x, float* y, int n) {
    DType act;
    if (!simd::tile_kernel(w.type, simd::active_isa()) || !simd::activation_type(w.type, &act))
        fail("matmul: weight ", w.name, " has type ", dtype_name(w.type), ", which lm cannot compute with");
    check(w, x, y, n);
}

}  // namespace

void matmul(const MatmulPart* parts, int count, const float* x, int n, int threads) {
    if (count > kMaxParts) fail("matmul: at most ", kMaxParts, " weights share one call");
    for (int i = 0; i < count; ++i) {
        check_part(*parts[i].w, x, parts[i].y, n);
        if (i > 0 && parts[i].w->cols() != parts[0].w->cols())
            fail("matmul: weights ", parts[0].w->name, " and ", parts[i].w->name, " differ in columns");
    }
    if (n <= 0 || count == 0) return;
    if (threads <= 0) threads = omp_get_max_threads();
    Converted converted(x, n, parts[0].w->cols());
    if (n >= kGemmMinTokens) return matmul_gemms(parts, count, converted, n, threads);
    matmul_tiles(parts, count, converted, n, threads);
}

bool force_matmul_isa(const std::string& name) {
    for (simd::Isa isa : simd::reachable_isas())
        if (name == simd::isa_name(isa)) {
            simd::force_isa(isa);
            return true;
        }
    return false;
}

void matmul(float* y, const Tensor& w, const float* x, int n, int threads) {
    const MatmulPart part{y, &w};
    matmul(&part, 1, x, n, threads);
}

}  // namespace lm
