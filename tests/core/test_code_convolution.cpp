// The convolution of fake-quantized values computed from their codes (model/code_convolution.h):
// exact, so the same bits whatever the layout, thread count or batch split; equal code sums give
// equal outputs (no max-pool near-ties for rounding to decide); gradients as conv2d's; and
// QuantConv2d uses it exactly where f32 holds the sums.
#include "model/code_convolution.h"
#include "model/yolo_network.h"
#include "quant/quant_config.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

namespace tyq {
namespace {

struct Operands {
    at::Tensor input, weight, inputStep, weightStep, bias;
};

// 3-bit unsigned activation codes and 3-bit signed weight codes (per output channel steps when
// asked), 3x3 kernels over 32 channels, with a few saturated (7) and zero codes.
Operands operands(bool perChannel, bool withBias, int64_t batch = 4)
{
    at::manual_seed(5);
    Operands o;
    o.inputStep = at::full({1}, 0.1260f);
    o.weightStep = perChannel ? at::rand({16, 1, 1, 1}) * 0.02 + 0.01 : at::full({}, 0.0185f);
    const at::Tensor inputCodes = at::randint(0, 8, {batch, 32, 12, 20});
    const at::Tensor weightCodes = at::randint(-4, 4, {16, 32, 3, 3});
    o.input = (inputCodes * o.inputStep.reshape({})).requires_grad_();
    o.weight = (weightCodes * o.weightStep.reshape({-1, 1, 1, 1})).requires_grad_();
    if (withBias)
        o.bias = (at::randn({16}) * 0.1).requires_grad_();
    return o;
}

at::Tensor expectedValue(const Operands& o)
{
    const at::Tensor a = at::round(o.input.detach() / o.inputStep.reshape({}));
    const at::Tensor w = at::round(o.weight.detach() / o.weightStep.reshape({-1, 1, 1, 1}));
    // In double: every sum here is an integer far below 2^53, so this is the exact result.
    at::Tensor sums = at::conv2d(a.to(at::kDouble), w.to(at::kDouble), {}, {1, 1}, {1, 1});
    at::Tensor y = sums.to(at::kFloat) * (o.inputStep.reshape({}) * o.weightStep.reshape({-1})).reshape({1, -1, 1, 1});
    if (o.bias.defined())
        y = y + o.bias.detach().reshape({1, -1, 1, 1});
    return y;
}

TEST(CodeConvolution, IsExactAndTheSameBitsInEitherLayoutAndOnAnyThreadCount)
{
    for (bool perChannel : {false, true}) {
        const Operands o = operands(perChannel, /*withBias=*/true);
        const at::Tensor expected = expectedValue(o);
        const int threads = at::get_num_threads();
        for (bool channelsLast : {false, true})
            for (int t : {1, 2}) {
                at::set_num_threads(t);
                const at::Tensor input =
                    channelsLast ? o.input.detach().contiguous(at::MemoryFormat::ChannelsLast) : o.input.detach();
                const at::Tensor y =
                    convolveCodes(input, o.weight.detach(), o.inputStep, o.weightStep, o.bias.detach(), 1, 1);
                EXPECT_TRUE(at::equal(y.contiguous(), expected))
                    << "per channel " << perChannel << ", channels-last " << channelsLast << ", " << t
                    << " threads: largest difference " << (y - expected).abs().max().item<float>();
            }
        at::set_num_threads(threads);
    }
}

TEST(CodeConvolution, OneImageAloneGivesTheBitsItGetsInABatch)
{
    // What data parallelism relies on: a rank's share of a batch computes its images exactly as
    // the whole batch does.
    const Operands o = operands(false, false, 8);
    const at::Tensor whole = convolveCodes(o.input.detach(), o.weight.detach(), o.inputStep, o.weightStep, {}, 1, 1);
    for (int64_t i = 0; i < 8; i += 3) {
        const at::Tensor one =
            convolveCodes(o.input.detach().narrow(0, i, 1), o.weight.detach(), o.inputStep, o.weightStep, {}, 1, 1);
        EXPECT_TRUE(at::equal(one, whole.narrow(0, i, 1))) << "image " << i;
    }
}

TEST(CodeConvolution, EqualCodeSumsGiveEqualOutputs)
{
    // A mirror-symmetric input and kernel: every output equals its mirror image exactly.
    Operands o = operands(false, false, 1);
    at::Tensor a = at::randint(0, 8, {1, 32, 12, 10});
    a = at::cat({a, a.flip({3})}, 3);
    at::Tensor w = at::randint(-4, 4, {16, 32, 3, 3});
    w = (w + w.flip({3})).clamp(-4, 3);
    const at::Tensor input = a * o.inputStep.reshape({}), weight = w * o.weightStep;
    const at::Tensor y =
        convolveCodes(input.contiguous(at::MemoryFormat::ChannelsLast), weight, o.inputStep, o.weightStep, {}, 1, 1)
            .contiguous();
    EXPECT_TRUE(at::equal(y, y.flip({3})));
}

TEST(CodeConvolution, GradientsAreConv2dsAtTheFakeQuantizedValues)
{
    for (bool channelsLast : {false, true})
        for (bool withBias : {false, true}) {
            const Operands o = operands(true, withBias);
            const at::Tensor upstream = at::randn({4, 16, 12, 20});
            const at::Tensor input = channelsLast ? o.input.contiguous(at::MemoryFormat::ChannelsLast) : o.input;
            convolveCodes(input, o.weight, o.inputStep, o.weightStep, o.bias, 1, 1).backward(upstream);
            const at::Tensor gotInput = o.input.grad().clone(), gotWeight = o.weight.grad().clone();

            const at::Tensor x = o.input.detach().requires_grad_(), w = o.weight.detach().requires_grad_();
            const at::Tensor b = withBias ? o.bias.detach().requires_grad_() : at::Tensor();
            at::conv2d(x, w, b, {1, 1}, {1, 1}).backward(upstream);
            const auto close = [](const at::Tensor& got, const at::Tensor& want) {
                return (got - want).norm().item<double>() <= 1e-5 * want.norm().item<double>();
            };
            EXPECT_TRUE(close(gotInput, x.grad())) << "input, channels-last " << channelsLast;
            EXPECT_TRUE(close(gotWeight, w.grad())) << "weight, channels-last " << channelsLast;
            if (withBias) {
                EXPECT_TRUE(close(o.bias.grad(), b.grad())) << "bias, channels-last " << channelsLast;
            }
        }
}

TEST(CodeConvolution, ExactWhereF32HoldsEverySum)
{
    EXPECT_TRUE(codeConvolutionIsExact(7, 4, 3 * 3 * 512));     // 3-bit codes, the widest layer
    EXPECT_TRUE(codeConvolutionIsExact(511, 4, 256));           // the 9-bit input of the last conv
    EXPECT_TRUE(codeConvolutionIsExact(1, 1, 16777216));        // 2^24 itself is an f32
    EXPECT_FALSE(codeConvolutionIsExact(1, 1, 16777217));
    EXPECT_FALSE(codeConvolutionIsExact(255, 128, 3 * 3 * 64)); // 8-bit by 8-bit over 576 terms
}

TEST(CodeConvolution, QuantConvUsesItOnlyWithBothQuantizersAndExactSums)
{
    // Signed weights ([-4, 3] at 3 bits), the range operands() draws its codes from.
    auto conv = [](int actBits, int weightBits, int64_t inChannels) {
        ConvSpec spec;
        spec.filters = 16;
        spec.size = 3;
        spec.stride = 1;
        spec.padding = 1;
        spec.batchNormalize = true;
        QuantConv2d c(inChannels, spec);
        LayerQuantSpec q;
        q.act.bit = actBits;
        q.act.allPositive = true;
        q.weight.bit = weightBits;
        c->quantize(q);
        return c;
    };
    EXPECT_TRUE(conv(3, 3, 256)->convolvesCodes());
    EXPECT_FALSE(conv(0, 3, 256)->convolvesCodes()) << "an unquantized input is no code";
    EXPECT_FALSE(conv(3, 0, 256)->convolvesCodes()) << "an unquantized weight is no code";
    EXPECT_FALSE(conv(8, 8, 256)->convolvesCodes()) << "255 x 127 x 2304 terms is past 2^24";

    // Its forward is the code convolution's.
    QuantConv2d c = conv(3, 3, 32);
    const Operands o = operands(false, false);
    {
        at::NoGradGuard noGrad;
        c->quanA->s.fill_(o.inputStep.item<float>());
        c->quanW->s.fill_(o.weightStep.item<float>());
        c->weight.copy_(o.weight.detach());
    }
    const at::Tensor y = c(o.input.detach());
    EXPECT_TRUE(at::equal(y, expectedValue(o)));
}

} // namespace
} // namespace tyq
