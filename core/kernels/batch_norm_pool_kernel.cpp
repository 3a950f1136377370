#include "kernels/batch_norm_pool_kernel.h"

#include "kernels/block_sums_impl.h"
#include "kernels/cpu_isa.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace tyq::kernels {
namespace {

// Windows summed in f32 before the running double sums (block_sums_impl.h).
constexpr int64_t kBlockWindows = 256;

bool isBf16(const at::Tensor& t) { return t.scalar_type() == at::kBFloat16; }

void checkGradient(const at::Tensor& gradOutput, const at::Tensor& window, const at::Tensor& x)
{
    TORCH_CHECK(batchNormMaxPool2x2Fits(x) && gradOutput.scalar_type() == x.scalar_type() &&
                    gradOutput.is_contiguous(at::MemoryFormat::ChannelsLast) && gradOutput.size(0) == x.size(0) &&
                    gradOutput.size(1) == x.size(1) && gradOutput.size(2) == x.size(2) / 2 &&
                    gradOutput.size(3) == x.size(3) / 2 && window.is_contiguous() &&
                    window.scalar_type() == at::kByte && window.numel() == gradOutput.numel(),
                "batch norm + max-pool backward: gradient and window do not fit the input");
}

} // namespace

bool batchNormMaxPool2x2Fits(const at::Tensor& x)
{
    return x.dim() == 4 && x.device().is_cpu() && (x.scalar_type() == at::kFloat || isBf16(x)) && x.size(1) % 16 == 0 &&
           x.size(2) >= 2 && x.size(3) >= 2 && x.is_contiguous(at::MemoryFormat::ChannelsLast) &&
           cpuIsa() == Isa::avx512 && cpuHasAvx512BwVl();
}

std::tuple<at::Tensor, at::Tensor> affineMaxPool2x2(const at::Tensor& x, const float* scale, const float* shift)
{
    TORCH_CHECK(batchNormMaxPool2x2Fits(x), "affineMaxPool2x2: this input or CPU has no kernel");
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    at::Tensor out = at::empty({n, c, h / 2, w / 2}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
    at::Tensor window = at::empty({n, h / 2, w / 2, c}, x.options().dtype(at::kByte));
    at::parallel_for(0, n * (h / 2), 1, [&](int64_t begin, int64_t end) {
        detail::affineMaxPool2x2RowsAvx512(x.data_ptr(), isBf16(x), h, w, c, begin, end, scale, shift, out.data_ptr(),
                                           window.data_ptr<uint8_t>());
    });
    return {out, window};
}

void pooledGradientSums(const at::Tensor& gradOutput, const at::Tensor& window, const at::Tensor& x,
                        const double* mean, double* sumDy, double* sumDyCentered)
{
    checkGradient(gradOutput, window, x);
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    const int64_t rows = n * (h / 2), rowsPerBlock = std::max<int64_t>(1, kBlockWindows / (w / 2));
    std::vector<float> center(static_cast<size_t>(c));
    for (int64_t k = 0; k < c; ++k)
        center[static_cast<size_t>(k)] = static_cast<float>(mean[k]);
    const std::vector<double> total =
        detail::sumOverRowBlocks(rows, rowsPerBlock, static_cast<size_t>(2 * c), [&](int64_t begin, int64_t end, float* block) {
            detail::pooledGradientSumsRowsAvx512(gradOutput.data_ptr(), window.data_ptr<uint8_t>(), x.data_ptr(),
                                                 isBf16(x), h, w, c, begin, end, center.data(), block);
        });
    std::copy(total.begin(), total.begin() + c, sumDy);
    std::copy(total.begin() + c, total.end(), sumDyCentered);
}

at::Tensor pooledGradientAffine(const at::Tensor& gradOutput, const at::Tensor& window, const at::Tensor& x,
                                const float* a, const float* b, const float* d)
{
    checkGradient(gradOutput, window, x);
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    at::Tensor dx = at::empty_like(x, x.options().memory_format(at::MemoryFormat::ChannelsLast));
    at::parallel_for(0, n * ((h + 1) / 2), 1, [&](int64_t begin, int64_t end) {
        detail::pooledGradientAffineRowsAvx512(gradOutput.data_ptr(), window.data_ptr<uint8_t>(), x.data_ptr(),
                                               isBf16(x), h, w, c, begin, end, a, b, d, dx.data_ptr());
    });
    return dx;
}

} // namespace tyq::kernels
