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

}  // namespace lm::simd
