#include "model/conv_ops.h"

#include <ATen/ATen.h>

namespace tyq {

at::Tensor convolve(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride,
                    int64_t padding)
{
    const bool oneDnn = x.dim() == 4 && x.scalar_type() == at::kFloat && x.device().is_cpu() &&
                        x.is_contiguous(at::MemoryFormat::ChannelsLast) && at::globalContext().userEnabledMkldnn();
    if (!oneDnn)
        return at::conv2d(x, weight, bias, {stride, stride}, {padding, padding});
    return at::mkldnn_convolution(x, weight, bias, {padding, padding}, {stride, stride}, {1, 1}, 1);
}

} // namespace tyq
