// matmul: converts the activations to the weight type's partner type once per call, then
// splits the weight rows into fixed chunks that OpenMP threads take in a static order. Each
// output is computed by exactly one thread with the same arithmetic for any thread count.
#include "simd/matmul.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
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

// Scratch for the converted activations: grows to the largest call, never shrinks.
thread_local std::vector<uint8_t> activation_scratch;

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
    size_t group_bytes;         // of the packed copy, per chunk of rows
    const Tensor* w;
    const uint8_t* x;  // converted activations
    size_t x_stride;
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
            job.packed(job.w->cols(), group, nr, job.x, job.x_stride, job.n, job.y + r0, rows);
            continue;
        }
        for (int c0 = 0; c0 < job.n; c0 += kColTile) {
            const int nc = std::min(kColTile, job.n - c0);
            job.tile(job.w->cols(), job.w->row(r0), job.w->row_size(), nr, job.x + c0 * job.x_stride, job.x_stride,
                     nc, job.y + c0 * rows + r0, rows);
        }
    }
}

// f32 / f16 weights with several tokens: the packed GEMM, y = x W^T, with x rounded to f16
// first for f16 weights (as the tile kernels see it).
void float_gemm(float* y, const Tensor& w, const float* x, int n, int threads) {
    const int64_t cols = w.cols(), count = cols * n;
    if (w.type != DType::F32) {
        const size_t bytes = static_cast<size_t>(count) * 4;
        if (activation_scratch.size() < bytes) activation_scratch.resize(bytes);
        float* rounded = reinterpret_cast<float*>(activation_scratch.data());
        simd::round_to_f16(x, rounded, count, simd::active_isa());
        x = rounded;
    }
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
#pragma omp parallel num_threads(threads)
    gemm_share(g, omp_get_thread_num(), omp_get_num_threads());
}

void matmul(float* y, const Tensor& w, const float* x, int n, int threads) {
    simd::TileFn tile = simd::tile_kernel(w.type, simd::active_isa());
    DType act;
    if (!tile || !simd::activation_type(w.type, &act))
        fail("matmul: weight ", w.name, " has type ", dtype_name(w.type), ", which lm cannot compute with");
    check(w, x, y, n);
    if (n <= 0 || w.rows() == 0) return;
    const int64_t rows = w.rows(), cols = w.cols();
    const int64_t work = checked_mul(static_cast<uint64_t>(rows * cols), static_cast<uint64_t>(n), "matmul");
    if (threads <= 0) threads = omp_get_max_threads();
    const int64_t n_chunks = (rows + kRowChunk - 1) / kRowChunk;
    const int nt = work < kSingleThreadWork ? 1 : static_cast<int>(std::min<int64_t>(threads, n_chunks));

    // bf16 stays on the vdpbf16ps tile kernel: its order reproduces llama.cpp's logits exactly,
    // and bf16-rounded activations amplify any other summation order.
    const bool is_float = w.type == DType::F32 || w.type == DType::F16;
    if (n >= kGemmMinTokens && is_float) return float_gemm(y, w, x, n, nt);
    Job job{tile, nullptr, 0, &w, reinterpret_cast<const uint8_t*>(x), static_cast<size_t>(cols) * 4, y, n};
    if (act != DType::F32) {
        job.x_stride = row_bytes(act, cols);
        if (activation_scratch.size() < job.x_stride * n) activation_scratch.resize(job.x_stride * n);
        uint8_t* scratch = activation_scratch.data();
        simd::QuantizeFn quantize = simd::activation_quantizer(act, simd::active_isa());
#pragma omp parallel for schedule(static) num_threads(nt) if (n >= kGemmMinTokens && nt > 1)
        for (int t = 0; t < n; ++t) quantize(x + t * cols, scratch + t * job.x_stride, cols);
        job.x = scratch;
        if (n >= kGemmMinTokens) {
            if (simd::QGemmFn qgemm = simd::qgemm_kernel(w.type, simd::active_isa())) {
                qgemm(y, w.data, scratch, rows, cols, n, nt);
                return;
            }
        }
        if (w.packed && (job.packed = simd::packed_tile_kernel(w.type, simd::active_isa())))
            job.group_bytes = packed_group_bytes(w.type, cols);
    }
    if (nt == 1) {
        run_chunks(job, 0, n_chunks);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        // Contiguous, equal shares of chunks in thread order (the static schedule, spelled out).
        const int64_t id = omp_get_thread_num(), count = omp_get_num_threads();
        run_chunks(job, n_chunks * id / count, n_chunks * (id + 1) / count);
    }
}

}  // namespace lm
