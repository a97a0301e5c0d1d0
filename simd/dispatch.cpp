// Run-time CPU dispatch: the one place that asks the CPU what it reaches and picks kernels.
// This file is built for the baseline ISA; *_avx2.cpp / *_avx512.cpp hold the wide x86
// kernels, *_neon.cpp the aarch64 ones (NEON is part of the aarch64 baseline).
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <utility>
#if defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#if defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>

#include "simd/cpu_x86.h"
#endif
#include "simd/kernels.h"
#include "simd/matmul.h"
#include "weights/quant.h"

namespace lm::simd {

namespace {

#if defined(__x86_64__)
// Linux hands out the AMX tile state (8 KiB per thread) only to processes that ask for it:
// arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA), for every thread of the process.
bool amx_request_tiles() {
    constexpr long kReqXcompPerm = 0x1023, kXtiledata = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXtiledata) == 0;
}
#endif

Isa detect() {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bf16") &&
        __builtin_cpu_supports("fma") && cpu_has_f16c())
        return cpu_has_amx() && amx_request_tiles() ? Isa::Amx : Isa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c())
        return Isa::Avx2;
#elif defined(__aarch64__)
    return getauxval(AT_HWCAP) & HWCAP_ASIMDDP ? Isa::NeonDot : Isa::Neon;
#endif
    return Isa::Scalar;
}

std::atomic<int> forced{-1};

#if defined(__x86_64__)
// The levels whose kernels are the AVX-512 ones (Amx differs only in its GEMMs).
bool avx512_kernels(Isa isa) { return isa == Isa::Avx512 || isa == Isa::Amx; }
#endif

}  // namespace

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::Amx: return "amx";
        case Isa::Avx512: return "avx512";
        case Isa::Avx2: return "avx2";
        case Isa::Neon: return "neon";
        case Isa::NeonDot: return "neon-dotprod";
        default: return "scalar";
    }
}

Isa best_isa() {
    static const Isa best = detect();
    return best;
}

// LM_ISA=NAME, a level this CPU reaches, stands in for the best one (to run or fuzz each level's
// kernels); any other value is ignored here (the CLI refuses it).
Isa default_isa() {
    static const Isa isa = [] {
        const char* name = std::getenv("LM_ISA");
        for (Isa level : reachable_isas())
            if (name && !std::strcmp(name, isa_name(level))) return level;
        return best_isa();
    }();
    return isa;
}

Isa active_isa() {
    const int f = forced.load(std::memory_order_relaxed);
    return f < 0 ? default_isa() : static_cast<Isa>(f);
}

bool isa_reachable(Isa isa) {
    const Isa best = best_isa();
    if (isa == Isa::Scalar || isa == best) return true;
    if (best == Isa::NeonDot) return isa == Isa::Neon;
    if (best == Isa::Amx && isa == Isa::Avx512) return true;
    return (best == Isa::Amx || best == Isa::Avx512 || best == Isa::Avx2) && isa == Isa::Avx2;
}

std::vector<Isa> reachable_isas() {
    std::vector<Isa> out;
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Amx, Isa::Neon, Isa::NeonDot})
        if (isa_reachable(isa)) out.push_back(isa);
    return out;
}

void force_isa(Isa isa) {
    if (!isa_reachable(isa)) isa = best_isa();
    forced.store(static_cast<int>(isa), std::memory_order_relaxed);
}

bool activation_type(DType weight, DType* out) {
    switch (weight) {
        case DType::F32: case DType::F16: case DType::BF16: *out = weight; return true;
        case DType::Q8_0: case DType::Q4_0: case DType::Q5_0: *out = DType::Q8_0; return true;
        case DType::Q4_1: case DType::Q5_1: *out = DType::Q8_1; return true;
        case DType::Q2_K: case DType::Q3_K: case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
            *out = DType::Q8_K;
            return true;
        default: return false;
    }
}

TileFn tile_kernel(DType weight, Isa isa) {
    TileFn fn = nullptr;
#if defined(__x86_64__)
    if (avx512_kernels(isa)) fn = avx512_tile(weight);
    if (!fn && (isa == Isa::Avx2 || avx512_kernels(isa))) fn = avx2_tile(weight);
#elif defined(__aarch64__)
    if (isa == Isa::NeonDot) fn = neon_dot_tile(weight);
    if (!fn && (isa == Isa::Neon || isa == Isa::NeonDot)) fn = neon_tile(weight);
#else
    (void)isa;
#endif
    return fn ? fn : scalar_tile(weight);
}

GemmFn gemm_kernel(Isa isa) {
#if defined(__x86_64__)
    if (isa == Isa::Amx) return gemm_amx;
    if (isa == Isa::Avx512) return gemm_avx512;
    if (isa == Isa::Avx2) return gemm_avx2;
#elif defined(__aarch64__)
    if (isa == Isa::Neon || isa == Isa::NeonDot) return gemm_neon;
#else
    (void)isa;
#endif
    return gemm_baseline;
}

namespace {
template <DType kType>
void reference_quantize(const float* x, void* dst, int64_t n) {
    quantize_row(kType, x, dst, n);
}
}  // namespace

QuantizeFn activation_quantizer(DType act, Isa isa) {
#if defined(__x86_64__)
    if (avx512_kernels(isa))
        if (QuantizeFn fn = avx512_quantizer(act)) return fn;
    if (isa == Isa::Avx2)
        if (QuantizeFn fn = avx2_quantizer(act)) return fn;
#else
    (void)isa;
#endif
    switch (act) {
        case DType::Q8_0: return reference_quantize<DType::Q8_0>;
        case DType::Q8_1: return reference_quantize<DType::Q8_1>;
        case DType::Q8_K: return reference_quantize<DType::Q8_K>;
        case DType::F16: return reference_quantize<DType::F16>;
        case DType::BF16: return reference_quantize<DType::BF16>;
        default: return reference_quantize<DType::F32>;
    }
}

void round_to_f16(const float* x, float* out, int64_t n, Isa isa) {
#if defined(__x86_64__)
    if (avx512_kernels(isa)) return round_to_f16_avx512(x, out, n);
#else
    (void)isa;
#endif
    for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(f32_to_f16(x[i]));
}

QGemmFn qgemm_kernel(DType weight, Isa isa) {
#if defined(__x86_64__)
    if (avx512_kernels(isa)) return avx512_qgemm(weight);
    if (isa == Isa::Avx2) return avx2_qgemm(weight);
#else
    (void)weight, (void)isa;
#endif
    return nullptr;
}

AmxTileFn amx_tile_kernel(DType weight, Isa isa) {
#if defined(__x86_64__)
    if (isa == Isa::Amx) return amx_packed_tile(weight);
#else
    (void)weight, (void)isa;
#endif
    return nullptr;
}

PackedTileFn packed_tile_kernel(DType weight, Isa isa) {
#if defined(__x86_64__)
    if (avx512_kernels(isa)) return avx512_packed_tile(weight);
    if (isa == Isa::Avx2) return avx2_packed_tile(weight);
#else
    (void)weight, (void)isa;
#endif
    return nullptr;
}

}  // namespace lm::simd

namespace lm {

int default_threads() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return std::max(1u, std::thread::hardware_concurrency());
    std::set<std::pair<int, int>> cores;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &set)) continue;
        auto read_id = [cpu](const char* what) {
            const std::string path = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/" + what;
            int id = -1;
            if (std::FILE* f = std::fopen(path.c_str(), "r")) {
                char line[32];
                char* end = line;
                if (std::fgets(line, sizeof line, f)) id = static_cast<int>(std::strtol(line, &end, 10));
                if (end == line) id = -1;
                std::fclose(f);
            }
            return id;
        };
        const int core = read_id("core_id");
        cores.insert({read_id("physical_package_id"), core < 0 ? cpu : core});
    }
    return std::max<int>(1, static_cast<int>(cores.size()));
}

}  // namespace lm
