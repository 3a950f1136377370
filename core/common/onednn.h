// The one oneDNN CPU engine tyq's direct oneDNN calls share (the integer engine's int8
// convolutions, the code convolution's bf16 one). LibTorch keeps its own for the convolutions it
// runs; both use the same OpenMP threads.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace tyq {

dnnl::engine& oneDnnCpuEngine();

} // namespace tyq
