// Load-time repacking of quantized weight matrices (per matrix, where this CPU has kernels for its type).
// ggml's block layout makes the dot kernels compute-bound: each block's nibbles are unpacked
// and its scale applied alone. Here 16 rows are interleaved so that one vpdpbusd serves 16
// rows (dword lane r = row r; AVX2 reads each register as two halves of 8 rows with
// vpmaddubsw) and the unpack and scaling work is shared; the
// kernels keep the scalar reference's arithmetic (integer block sums, then its float
// multiplies and adds in block order), so their results are bit-identical to scalar_tile's.
// A packed tensor keeps `data` and gains `packed`; the model owns the storage. Decode and
// prompts read only the packed copy, so models release ggml's pages. Layouts, per group of
// 16 rows (rows past the end are zero), block after block along the row; "16 x" means one
// entry per row of the group:
//   q4_0 (288 B/block): 4 x 64 B codes, then 16 x fp16 d. Register s, bytes 4r..4r+3 =
//                       qs[4s..4s+3] of row r (low nibbles: elements 4s.., high: 16+4s..).
//   q4_1 (320 B/block): codes as q4_0, then 16 x fp16 d, 16 x fp16 m.
//   q5_0 (352 B/block): as q4_0, then for s = 0..3 two 64-bit masks (low, high nibbles): bit
//                       4r+t = the fifth bit of element 4s+t (16+4s+t) of row r; then 16 x d.
//   q8_0 (544 B/block): 8 x 64 B codes: register s, bytes 4r..4r+3 = qs[4s..4s+3] + 128 of
//                       row r (unsigned); then 16 x fp16 d.
//   q4_K (2368 B/super-block): 32 x 64 B codes: register 16h + L, bytes 4r..4r+3 =
//                       qs[64h + 4L .. +3] of row r; then 8 x 16 B scales: sub-block j, byte
//                       r = its 6-bit scale in row r; 4 x 32 B mins: pair m, bytes 2r, 2r+1 =
//                       6-bit mins of sub-blocks 2m, 2m+1 of row r; 16 x fp16 d; 16 x fp16 dmin.
//   q6_K (3360 B/super-block): 32 x 64 B ql: register 16h + L, bytes 4r..4r+3 =
//                       ql[64h + 4L .. +3] of row r; 16 x 64 B qh: register 8h + L, bytes
//                       4r..4r+3 = qh[32h + 4L .. +3]; 16 x 16 B scales: sub-block j, byte r =
//                       scales[j] of row r; 16 x fp16 d.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "weights/mmap.h"
#include "weights/tensor.h"

namespace lm {

constexpr int kPackedRows = 16;  // rows per interleaved group; matmul's row chunk

// Bytes of one packed group of 16 rows for `cols` columns of `type`; 0 when the type has no
// packed layout.
size_t packed_group_bytes(DType type, int64_t cols);

// Bytes of w's packed copy (a multiple of 64) when this CPU has a packed kernel for w.type and
// repacking is enabled; otherwise 0.
size_t packed_size(const Tensor& w);
// Writes w's packed copy to `out` (packed_size(w) bytes, 64-byte aligned, outliving w's use)
// and points w.packed at it. Requires packed_size(w) > 0.
void repack(Tensor& w, uint8_t* out);
// Many at once, as one parallel job (model loading): ws[i]'s copy into outs[i]; done(i), if
// given, runs on some thread as soon as matrix i is complete (the next may be under way).
void repack(const std::vector<Tensor*>& ws, const std::vector<uint8_t*>& outs, const std::function<void(size_t)>& done);
// The same into `storage`, sized here (it must not be resized afterwards); false, and w left
// alone, where packed_size(w) is 0.
bool repack(Tensor& w, StreamedVector<uint8_t>& storage);

// Process-wide switch (on by default), for tests that compare packed and unpacked models.
void set_repack_enabled(bool enabled);
bool repack_enabled();

}  // namespace lm
