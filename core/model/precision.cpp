#include "model/precision.h"

#include "common/error.h"
#include "model/onednn_convolution.h"

namespace tyq {

const char* precisionName(Precision precision)
{
    return precision == Precision::bf16 ? "bf16" : "fp32";
}

Precision parsePrecision(const std::string& word)
{
    if (word == "fp32")
        return Precision::fp32;
    if (word == "bf16")
        return Precision::bf16;
    throw Error("unknown precision '" + word + "' (fp32 or bf16)");
}

bool precisionSupported(Precision precision, std::string* why)
{
    if (precision == Precision::fp32)
        return true;
    __builtin_cpu_init();
    // The same test LibTorch applies before it sends a bf16 conv to oneDNN.
    const bool avx512 = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                        __builtin_cpu_supports("avx512dq");
    if (!avx512) {
        if (why)
            *why = "bf16 convolutions need a CPU with AVX-512 (BW, VL and DQ), which this one lacks; use fp32";
        return false;
    }
    // An ISA cap (ONEDNN_MAX_CPU_ISA below AVX512_CORE) leaves oneDNN, LibTorch's too, without them.
    if (!oneDnnHasBf16Convolutions()) {
        if (why)
            *why = "oneDNN has no bf16 convolution here (is ONEDNN_MAX_CPU_ISA set below AVX512_CORE?); use fp32";
        return false;
    }
    return true;
}

bool nativeBf16()
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16");
}

void requirePrecision(Precision precision, const std::string& what)
{
    std::string why;
    if (!precisionSupported(precision, &why))
        throw Error(what + ": " + why);
}

} // namespace tyq
