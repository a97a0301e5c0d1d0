// Hot loops in the layer library are compiled once per x86 ISA level and the best one is
// picked when the program loads (GCC target_clones, an ifunc), so auto-vectorized loops use
// AVX-512 or AVX2 where the CPU has it while the binary still runs on baseline x86-64.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LM_TARGET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LM_TARGET_CLONES
#endif
