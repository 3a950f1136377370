#include "kernels/conv_pool_kernel.h"

#include "kernels/cpu_isa.h"

#include <ATen/Parallel.h>

#include <vector>

namespace tyq::kernels {

bool convPoolKernelAvailable(int64_t outChannels)
{
    switch (cpuIsa()) {
    case Isa::avx512: return outChannels > 0 && outChannels % 16 == 0;
    case Isa::avx2: return outChannels > 0 && outChannels % 8 == 0;
    case Isa::baseline: break;
    }
    return false;
}

const char* convPoolKernelIsa()
{
    return isaName(cpuIsa());
}

void convPoolForward(const ConvPoolParams& p)
{
    const int64_t rows = p.batch * (p.height / 2);
    const Isa which = cpuIsa();
    at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
        std::vector<float> scratch(static_cast<size_t>(4 * (p.width + 2) * p.inChannels));
        if (which == Isa::avx512)
            detail::convPoolRowsAvx512(p, begin, end, scratch.data());
        else
            detail::convPoolRowsAvx2(p, begin, end, scratch.data());
    });
}

} // namespace tyq::kernels
