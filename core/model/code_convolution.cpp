#include "model/code_convolution.h"

#include "kernels/lsq_kernel.h"
#include "model/bf16_convolution.h"
#include "model/fast_ops.h"
#include "model/onednn_convolution.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <atomic>
#include <cstdint>

namespace tyq {
namespace {

// Integers up to 2^8 have at most 8 significant bits: bf16 holds them exactly.
constexpr int64_t kLargestBf16Code = 256;

// The codes of fake-quantized values (f32 or bf16), round(value x reciprocal), in one pass as
// `codeType` (the same strides): ATen would take three (LibTorch 1.13's mixed-type element-wise
// ops are several times slower than an op and a cast). `convert(values, codes, n)` takes f32 or
// bf16 bits and says whether every code fits; where one does not, the result is undefined.
template <typename Code, typename Convert>
at::Tensor codesOf(const at::Tensor& values, at::ScalarType codeType, const Convert& convert)
{
    const at::Tensor input = values.is_non_overlapping_and_dense() ? values : values.contiguous();
    at::Tensor codes = at::empty_like(input, input.options().dtype(codeType));
    auto* out = static_cast<Code*>(codes.data_ptr());
    std::atomic<bool> fit{true};
    at::parallel_for(0, input.numel(), 32768, [&](int64_t begin, int64_t end) {
        const bool fits =
            input.scalar_type() == at::kBFloat16
                ? convert(reinterpret_cast<const uint16_t*>(input.data_ptr<at::BFloat16>()) + begin, out + begin,
                          end - begin)
                : convert(input.data_ptr<float>() + begin, out + begin, end - begin);
        if (!fits)
            fit = false;
    });
    return fit ? codes : at::Tensor();
}

at::Tensor bf16CodesOf(const at::Tensor& values, float reciprocal)
{
    return codesOf<uint16_t>(values, at::kBFloat16, [reciprocal](const auto* in, uint16_t* out, int64_t n) {
        kernels::lsqCodesToBf16(in, out, n, reciprocal);
        return true;
    });
}

// Undefined where a code is outside [0, 255] or NaN.
at::Tensor u8CodesOf(const at::Tensor& values, float reciprocal)
{
    return codesOf<uint8_t>(values, at::kByte, [reciprocal](const auto* in, uint8_t* out, int64_t n) {
        return kernels::lsqCodesToU8(in, out, n, reciprocal);
    });
}

at::ScalarType codeType(CodeSums sums)
{
    switch (sums) {
    case CodeSums::bf16: return at::kBFloat16;
    case CodeSums::int8: return at::kChar;
    case CodeSums::f32: break;
    }
    return at::kFloat;
}

} // namespace

CodeWeights codeWeightsOf(const at::Tensor& weight, const at::Tensor& weightStep, CodeBounds bounds, CodeSums sums)
{
    at::NoGradGuard noGrad;
    const at::Tensor codes = at::round(weight / weightStep.reshape({-1, 1, 1, 1}));
    return {codes.to(codeType(sums)), weightStep.reshape({-1}), bounds, sums};
}

at::Tensor codeConvolutionValue(const at::Tensor& input, const CodeWeights& weight, const at::Tensor& bias,
                                const at::Tensor& inputStep, int64_t stride, int64_t padding, bool bf16Precision)
{
    at::NoGradGuard noGrad;
    // A code times a step, times the step's reciprocal (the step an ulp away or not), is within a
    // few ulps of the code: round() gives it back (kLargestCodeOfBf16Values for a bf16 input).
    const at::Tensor reciprocal = inputStep.reciprocal().reshape({});
    const at::Tensor scale = (inputStep.reshape({}) * weight.step).expand({weight.codes.size(0)});
    const bool hasBias = bias.defined() && bias.numel() > 0;
    CodeSums sums = codeSumsFor(input, weight.bounds);
    at::Tensor y;
    if (sums == CodeSums::int8) {
        const at::Tensor inputCodes = u8CodesOf(input, reciprocal.item<float>());
        const at::Tensor weightCodes = weight.sums == sums ? weight.codes : weight.codes.to(at::kChar);
        if (inputCodes.defined()) // bf16 precision's rounding inside oneDNN's pass where there is no bias after it
            y = int8ConvolutionSums(inputCodes, weightCodes, stride, padding, scale.contiguous(),
                                    bf16Precision && !hasBias ? at::kBFloat16 : at::kFloat);
        if (y.defined() && !hasBias)
            return y;
        if (y.defined())
            return bf16Precision ? y.add_(bias.reshape({1, -1, 1, 1})).to(at::kBFloat16)
                                 : y.add_(bias.reshape({1, -1, 1, 1}));
        sums = CodeSums::f32; // a code outside u8 (NaN, say), or no native kernel: the f32 sums
    }
    const at::Tensor weightCodes = sums == weight.sums ? weight.codes : weight.codes.to(codeType(sums));
    if (sums == CodeSums::bf16) {
        const at::Tensor inputCodes = bf16CodesOf(input, reciprocal.item<float>());
        if (!hasBias) // the scale, and bf16 precision's rounding, inside oneDNN's pass
            return bf16ConvolutionSums(inputCodes, weightCodes, stride, padding, scale,
                                       bf16Precision ? at::kBFloat16 : at::kFloat);
        y = bf16ConvolutionSums(inputCodes, weightCodes, stride, padding);
    } else {
        // A channels-last input (the codes keep its layout) goes to oneDNN, an NCHW one to conv2d.
        const at::Tensor inputCodes = (input.to(at::kFloat) * reciprocal).round_();
        y = convolve(inputCodes, weightCodes, at::Tensor(), stride, padding);
    }
    y.mul_(scale.reshape({1, -1, 1, 1}));
    if (hasBias)
        y.add_(bias.reshape({1, -1, 1, 1}));
    return bf16Precision ? y.to(at::kBFloat16) : y;
}

at::Tensor codeConvolutionValue(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                                const at::Tensor& inputStep, const at::Tensor& weightStep, int64_t stride,
                                int64_t padding, CodeBounds bounds, bool bf16Precision)
{
    return codeConvolutionValue(input, codeWeightsOf(weight, weightStep, bounds, codeSumsFor(input, bounds)), bias,
                                inputStep, stride, padding, bf16Precision);
}

namespace {

struct CodeConvolutionFunction : public torch::autograd::Function<CodeConvolutionFunction> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input, const at::Tensor& weight,
                              const at::Tensor& bias, const at::Tensor& inputStep, const at::Tensor& weightStep,
                              int64_t stride, int64_t padding, int64_t largestCode, bool unsignedInput,
                              bool bf16Precision)
    {
        const at::Tensor y = codeConvolutionValue(input, weight, bias, inputStep, weightStep, stride, padding,
                                                  {largestCode, unsignedInput}, bf16Precision);
        ctx->save_for_backward({input, weight});
        ctx->saved_data["stride"] = stride;
        ctx->saved_data["padding"] = padding;
        ctx->saved_data["bias"] = bias.numel() > 0;
        ctx->saved_data["bf16"] = bf16Precision;
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
        const bool biasGradient = hasBias && ctx->needs_input_grad(2);
        if (ctx->saved_data["bf16"].toBool()) {
            // As convolveBf16's backward (autograd casts the input's gradient to the input's type).
            auto [gradInput, gradWeight] =
                bf16ConvolutionBackward(grads[0], input, weight.to(at::kBFloat16), stride, padding,
                                        ctx->needs_input_grad(0), ctx->needs_input_grad(1));
            const at::Tensor gradBias = biasGradient ? grads[0].sum({0, 2, 3}, false, at::kFloat) : at::Tensor();
            return {gradInput, gradWeight, gradBias, {}, {}, {}, {}, {}, {}, {}};
        }
        // What autograd runs for conv2d and for mkldnn_convolution, at the fake-quantized values.
        std::vector<int64_t> biasSizes{weight.size(0)};
        auto [gradInput, gradWeight, gradBias] = at::convolution_backward(
            grads[0].contiguous(input.suggest_memory_format()), input, weight,
            hasBias ? at::OptionalIntArrayRef(biasSizes) : at::OptionalIntArrayRef(), {stride, stride},
            {padding, padding}, {1, 1}, false, {0, 0}, 1,
            {ctx->needs_input_grad(0), ctx->needs_input_grad(1), biasGradient});
        return {gradInput, gradWeight, gradBias, {}, {}, {}, {}, {}, {}, {}};
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

CodeSums codeSumsFor(at::MemoryFormat inputLayout, CodeBounds bounds)
{
    // oneDNN's int8 and bf16 kernels want channels-last inputs.
    if (inputLayout != at::MemoryFormat::ChannelsLast)
        return CodeSums::f32;
    // int8 before bf16: the same bits from a quarter of the bytes, in about half the time where
    // the CPU has VNNI. The bound of bf16 values' codes holds for either (a bf16 input's codes).
    if (bounds.unsignedInput && bounds.largest <= kLargestCodeOfBf16Values &&
        int8SumsExact(bounds.largest, bounds.largest))
        return CodeSums::int8;
    // Where bf16 is emulated (no AVX512_BF16), its convolutions are slower than f32's.
    return bf16SumsRunNatively() && bounds.largest <= kLargestBf16Code ? CodeSums::bf16 : CodeSums::f32;
}

CodeSums codeSumsFor(const at::Tensor& input, CodeBounds bounds)
{
    const bool channelsLast = input.dim() == 4 && input.is_contiguous(at::MemoryFormat::ChannelsLast);
    return codeSumsFor(channelsLast ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous, bounds);
}

const char* codeSumsName(CodeSums sums)
{
    switch (sums) {
    case CodeSums::int8: return "u8 x s8 products summed in s32";
    case CodeSums::bf16: return "bf16 products summed in f32";
    case CodeSums::f32: break;
    }
    return "f32";
}

at::Tensor convolveCodes(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& inputStep,
                         const at::Tensor& weightStep, const at::Tensor& bias, int64_t stride, int64_t padding,
                         CodeBounds bounds, Precision precision)
{
    // LibTorch 1.13's Function::apply takes no undefined tensor: no bias is an empty one.
    const at::Tensor biasOrNone = bias.defined() ? bias : at::empty({0}, weight.options());
    return CodeConvolutionFunction::apply(input, weight, biasOrNone, inputStep.detach(), weightStep.detach(), stride,
                                          padding, bounds.largest, bounds.unsignedInput, precision == Precision::bf16);
}

} // namespace tyq
