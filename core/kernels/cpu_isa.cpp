#include "kernels/cpu_isa.h"

#include <cpuid.h>
#include <strings.h>

#include <algorithm>
#include <cstdlib>

namespace tyq::kernels {
namespace {

Isa detectIsa()
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return Isa::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return Isa::avx2;
    return Isa::baseline;
}

// TYQ_MAX_ISA's cap (any case, as ONEDNN_MAX_CPU_ISA); an unknown value caps nothing (there is
// no one to tell at this depth, and the full ISA computes the same results).
Isa isaCap()
{
    const char* cap = std::getenv("TYQ_MAX_ISA");
    if (cap && ::strcasecmp(cap, "avx2") == 0)
        return Isa::avx2;
    if (cap && ::strcasecmp(cap, "baseline") == 0)
        return Isa::baseline;
    return Isa::avx512;
}

} // namespace

Isa cpuIsa()
{
    static const Isa detected = std::min(detectIsa(), isaCap());
    return detected;
}

bool cpuHasAvx512Vnni()
{
    static const bool has = [] {
        __builtin_cpu_init();
        return cpuIsa() == Isa::avx512 && __builtin_cpu_supports("avx512vnni");
    }();
    return has;
}

bool cpuHasAvx512BwVl()
{
    static const bool has = [] {
        __builtin_cpu_init();
        return cpuIsa() == Isa::avx512 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    }();
    return has;
}

bool cpuHasAmxBf16()
{
    static const bool has = [] {
        unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
        return __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (edx & (1u << 22)) != 0; // AMX-BF16
    }();
    return has;
}

const char* isaName(Isa isa)
{
    switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    case Isa::baseline: break;
    }
    return "baseline";
}

} // namespace tyq::kernels
