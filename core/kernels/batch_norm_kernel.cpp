#include "kernels/batch_norm_kernel.h"

#include "kernels/cpu_isa.h"
#include "kernels/batch_norm_kernel_impl.h" // the baseline build

namespace tyq::kernels {
namespace {

const detail::BatchNormLoops& loops()
{
    return cpuIsa() == Isa::avx512 ? detail::batchNormLoopsAvx512() : detail::batchNormLoopsBaseline();
}

} // namespace

void channelMeanVariance(const void* x, MapType type, int64_t rows, int64_t channels, double* mean, double* variance)
{
    loops().meanVariance(x, type, rows, channels, mean, variance);
}

void channelAffine(const void* x, MapType type, int64_t rows, int64_t channels, const float* scale, const float* shift,
                   void* y)
{
    loops().affine(x, type, rows, channels, scale, shift, y);
}

void channelGradientSums(const void* dy, const void* x, MapType type, int64_t rows, int64_t channels,
                         const double* mean, double* sumDy, double* sumDyCentered)
{
    loops().gradientSums(dy, x, type, rows, channels, mean, sumDy, sumDyCentered);
}

void channelGradientAffine(const void* dy, const void* x, MapType type, int64_t rows, int64_t channels, const float* a,
                           const float* b, const float* d, void* dx)
{
    loops().gradientAffine(dy, x, type, rows, channels, a, b, d, dx);
}

} // namespace tyq::kernels
