// Which hand-vectorized kernel build this CPU runs (checked once, at first use).
#pragma once

namespace tyq::kernels {

enum class Isa { baseline, avx2, avx512 };

/// The best instruction set the kernels have a build for on this CPU, at most TYQ_MAX_ISA
/// (avx512, avx2 or baseline) where that environment variable is set: it runs the narrower
/// builds on a wider CPU, for tests and comparisons, as oneDNN's ONEDNN_MAX_CPU_ISA does.
Isa cpuIsa();
const char* isaName(Isa isa);

/// Whether the CPU has AMX with bf16 tiles (CPUID; oneDNN's AMX bf16 kernels then run).
bool cpuHasAmxBf16();

/// Whether the CPU has AVX-512 with the byte/word (BW) and 128/256-bit (VL) forms (false where
/// TYQ_MAX_ISA is below avx512, as is the next).
bool cpuHasAvx512BwVl();

/// Whether the CPU has AVX512_VNNI (u8 x s8 dot products into int32: vpdpbusd).
bool cpuHasAvx512Vnni();

} // namespace tyq::kernels
