#include "model/code_convolution.h"

#include "model/fast_ops.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

namespace tyq {
namespace {

struct CodeConvolutionFunction : public torch::autograd::Function<CodeConvolutionFunction> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input, const at::Tensor& weight,
                              const at::Tensor& bias, const at::Tensor& inputStep, const at::Tensor& weightStep,
                              int64_t stride, int64_t padding)
    {
        at::Tensor y;
        {
            at::NoGradGuard noGrad;
            // A code times a step, times the step's reciprocal (the step an ulp away or not), is
            // within a few ulps of the code: round() gives it back.
            const at::Tensor inputCodes = (input * inputStep.reciprocal().reshape({})).round_(); // one new map
            const at::Tensor weightCodes = at::round(weight / weightStep.reshape({-1, 1, 1, 1}));
            const at::Tensor scale = (inputStep.reshape({}) * weightStep.reshape({-1})).reshape({1, -1, 1, 1});
            // A channels-last input (the codes keep its layout) goes to oneDNN, an NCHW one to conv2d.
            y = convolve(inputCodes, weightCodes, at::Tensor(), stride, padding).mul_(scale);
            if (bias.numel() > 0)
                y.add_(bias.reshape({1, -1, 1, 1}));
        }
        ctx->save_for_backward({input, weight});
        ctx->saved_data["stride"] = stride;
        ctx->saved_data["padding"] = padding;
        ctx->saved_data["bias"] = bias.numel() > 0;
        return y;
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const int64_t stride = ctx->saved_data["stride"].toInt(), padding = ctx->saved_data["padding"].toInt();
        const bool hasBias = ctx->saved_data["bias"].toBool();
        const at::Tensor& input = saved[0];
        const at::Tensor& weight = saved[1];
        // What autograd runs for conv2d and for mkldnn_convolution, at the fake-quantized values.
        std::vector<int64_t> biasSizes{weight.size(0)};
        auto [gradInput, gradWeight, gradBias] = at::convolution_backward(
            grads[0].contiguous(input.suggest_memory_format()), input, weight,
            hasBias ? at::OptionalIntArrayRef(biasSizes) : at::OptionalIntArrayRef(), {stride, stride},
            {padding, padding}, {1, 1}, false, {0, 0}, 1,
            {ctx->needs_input_grad(0), ctx->needs_input_grad(1), hasBias && ctx->needs_input_grad(2)});
        return {gradInput, gradWeight, gradBias, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    }
};

} // namespace

bool codeConvolutionIsExact(int64_t maxInputCode, int64_t maxWeightCode, int64_t termsPerOutput)
{
    constexpr double kExactInF32 = 16777216.0; // 2^24: every integer up to it is an f32
    return static_cast<double>(maxInputCode) * static_cast<double>(maxWeightCode) *
               static_cast<double>(termsPerOutput) <=
           kExactInF32;
}

at::Tensor convolveCodes(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& inputStep,
                         const at::Tensor& weightStep, const at::Tensor& bias, int64_t stride, int64_t padding)
{
    // LibTorch 1.13's Function::apply takes no undefined tensor: no bias is an empty one.
    const at::Tensor biasOrNone = bias.defined() ? bias : at::empty({0}, weight.options());
    return CodeConvolutionFunction::apply(input, weight, biasOrNone, inputStep.detach(), weightStep.detach(), stride,
                                          padding);
}

} // namespace tyq
