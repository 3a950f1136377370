// Which hand-vectorized kernel build this CPU runs (checked once, at first use).
#pragma once

namespace tyq::kernels {

enum class Isa { baseline, avx2, avx512 };

/// The best instruction set the kernels have a build for on this CPU.
Isa cpuIsa();
const char* isaName(Isa isa);

} // namespace tyq::kernels
