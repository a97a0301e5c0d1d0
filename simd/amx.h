// The AMX tile configuration, shared by the tile-unit kernels (gemm_amx.cpp, repack_amx.cpp).
// Internal linkage, like x86.h.
#pragma once
#include "simd/x86.h"  // first: it sets up <immintrin.h>

#include <cstdint>

namespace lm::simd {
namespace {

// LDTILECFG's 64-byte operand: palette 1, then per tile its bytes per row and its rows
// (unused tiles 0).
struct alignas(64) TileConfig {
    uint8_t palette = 1, start_row = 0, reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};

    TileConfig& tile(int t, int row_count, int row_bytes) {
        rows[t] = static_cast<uint8_t>(row_count);
        colsb[t] = static_cast<uint16_t>(row_bytes);
        return *this;
    }
};

// Configures this thread's tiles. GCC 12 does not see LDTILECFG read its whole operand and
// can drop the stores that filled it (it did so in an int8 kernel), hence the barrier.
inline void load_tiles(const TileConfig& cfg) {
    asm volatile("" : : "m"(cfg) : "memory");
    _tile_loadconfig(&cfg);
}

}  // namespace
}  // namespace lm::simd
