#include "kernels/batch_norm_kernel.h"

#include "kernels/cpu_isa.h"
#include "kernels/batch_norm_kernel_impl.h" // the baseline build

namespace tyq::kernels {
namespace detail::batch_norm_avx512 {
void channelMeanVariance(const void* x, MapType type, int64_t rows, int64_t channels, std::vector<double>& mean,
                         std::vector<double>& variance);
void channelAffine(const void* x, MapType type, int64_t rows, int64_t channels, const float* scale, const float* shift,
                   void* y);
void channelGradientSums(const void* dy, const void* x, MapType type, int64_t rows, int64_t channels,
                         const double* mean, std::vector<double>& sumDy, std::vector<double>& sumDyCentered);
void channelGradientAffine(const void* dy, const void* x, MapType type, int64_t rows, int64_t channels, const float* a,
                           const float* b, const float* d, void* dx);
} // namespace detail::batch_norm_avx512

namespace {
bool avx512() { return cpuIsa() == Isa::avx512; }
} // namespace

void channelMeanVariance(const void* x, MapType type, int64_t rows, int64_t channels, std::vector<double>& mean,
                         std::vector<double>& variance)
{
    if (avx512())
        return detail::batch_norm_avx512::channelMeanVariance(x, type, rows, channels, mean, variance);
    detail::batch_norm_baseline::channelMeanVariance(x, type, rows, channels, mean, variance);
}

void channelAffine(const void* x, MapType type, int64_t rows, int64_t channels, const float* scale, const float* shift,
                   void* y)
{
    if (avx512())
        return detail::batch_norm_avx512::channelAffine(x, type, rows, channels, scale, shift, y);
    detail::batch_norm_baseline::channelAffine(x, type, rows, channels, scale, shift, y);
}

void channelGradientSums(const void* dy, const void* x, MapType type, int64_t rows, int64_t channels,
                         const double* mean, std::vector<double>& sumDy, std::vector<double>& sumDyCentered)
{
    if (avx512())
        return detail::batch_norm_avx512::channelGradientSums(dy, x, type, rows, channels, mean, sumDy, sumDyCentered);
    detail::batch_norm_baseline::channelGradientSums(dy, x, type, rows, channels, mean, sumDy, sumDyCentered);
}

void channelGradientAffine(const void* dy, const void* x, MapType type, int64_t rows, int64_t channels, const float* a,
                           const float* b, const float* d, void* dx)
{
    if (avx512())
        return detail::batch_norm_avx512::channelGradientAffine(dy, x, type, rows, channels, a, b, d, dx);
    detail::batch_norm_baseline::channelGradientAffine(dy, x, type, rows, channels, a, b, d, dx);
}

} // namespace tyq::kernels
