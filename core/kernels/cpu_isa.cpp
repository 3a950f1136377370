#include "kernels/cpu_isa.h"

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

} // namespace

Isa cpuIsa()
{
    static const Isa detected = detectIsa();
    return detected;
}

bool cpuHasAvx512Vnni()
{
    static const bool has = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni");
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
