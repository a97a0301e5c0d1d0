// CPU feature checks that __builtin_cpu_supports lacks on some compilers (clang < 16 has
// no "f16c"), read from CPUID directly. x86-64 only.
#pragma once
#include <cpuid.h>

namespace lm::simd {

// F16C: CPUID leaf 1, ECX bit 29.
inline bool cpu_has_f16c() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C);
}

// AMX tiles with bf16 and int8: CPUID leaf 7, EDX bits 24, 22 and 25. The OS must also enable
// the tile state, which Linux grants per process on request (amx_request_tiles).
inline bool cpu_has_amx() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    const unsigned want = (1u << 22) | (1u << 24) | (1u << 25);
    return (edx & want) == want;
}

}  // namespace lm::simd
