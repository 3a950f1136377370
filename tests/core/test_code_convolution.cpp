// The convolution of fake-quantized values computed from their codes (model/code_convolution.h):
// exact, so the same bits whatever the layout, thread count, batch split or arithmetic (f32, bf16
// products summed in f32, or u8 x s8 products summed in s32); equal code sums give equal outputs
// (no max-pool near-ties for rounding to decide); gradients as conv2d's (convolveBf16's in bf16
// precision); and QuantConv2d uses it exactly where f32 holds the sums.
#include "hw/onednn_integer_conv.h"
#include "model/bf16_convolution.h"
#include "model/code_convolution.h"
#include "model/fast_ops.h"
#include "model/onednn_convolution.h"
#include "model/yolo_network.h"
#include "quant/quant_config.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <limits>

namespace tyq {
namespace {

// operands()' codes: activations in [0, 7], weights in [-4, 3].
constexpr int64_t kLargestCode = 7;
constexpr CodeBounds kUnsigned{kLargestCode, true};
// The same codes declared signed: no int8 sums (the bf16 or f32 ones).
constexpr CodeBounds kSigned{kLargestCode, false};

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
    const int threads = at::get_num_threads();
    for (bool perChannel : {false, true})
        for (bool withBias : {false, true}) {
            const Operands o = operands(perChannel, withBias);
            const at::Tensor expected = expectedValue(o);
            for (bool channelsLast : {false, true})
                for (CodeBounds bounds : {kSigned, kUnsigned})
                    for (int t : {1, 2}) {
                        at::set_num_threads(t);
                        const at::Tensor input = channelsLast
                                                     ? o.input.detach().contiguous(at::MemoryFormat::ChannelsLast)
                                                     : o.input.detach();
                        const at::Tensor bias = withBias ? o.bias.detach() : at::Tensor();
                        const at::Tensor y =
                            convolveCodes(input, o.weight.detach(), o.inputStep, o.weightStep, bias, 1, 1, bounds);
                        EXPECT_TRUE(at::equal(y.contiguous(), expected))
                            << "per channel " << perChannel << ", bias " << withBias << ", channels-last "
                            << channelsLast << ", " << t << " threads, sums in "
                            << codeSumsName(codeSumsFor(input, bounds)) << ": largest difference "
                            << (y - expected).abs().max().item<float>();
                    }
            at::set_num_threads(threads);
        }
}

TEST(CodeConvolution, OneImageAloneGivesTheBitsItGetsInABatch)
{
    // What data parallelism relies on: a rank's share of a batch computes its images exactly as
    // the whole batch does (channels-last sums in bf16 where the CPU has it).
    const Operands o = operands(false, false, 8);
    for (bool channelsLast : {false, true}) {
        const at::Tensor input =
            channelsLast ? o.input.detach().contiguous(at::MemoryFormat::ChannelsLast) : o.input.detach();
        const at::Tensor whole =
            convolveCodes(input, o.weight.detach(), o.inputStep, o.weightStep, {}, 1, 1, kUnsigned);
        for (int64_t i = 0; i < 8; i += 3) {
            const at::Tensor one = convolveCodes(input.narrow(0, i, 1).contiguous(input.suggest_memory_format()),
                                                 o.weight.detach(), o.inputStep, o.weightStep, {}, 1, 1, kUnsigned);
            EXPECT_TRUE(at::equal(one, whole.narrow(0, i, 1))) << "image " << i << ", channels-last " << channelsLast;
        }
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
        convolveCodes(input.contiguous(at::MemoryFormat::ChannelsLast), weight, o.inputStep, o.weightStep, {}, 1, 1,
                      kUnsigned)
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
            convolveCodes(input, o.weight, o.inputStep, o.weightStep, o.bias, 1, 1, kUnsigned).backward(upstream);
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

// Codes in [lo, hi] with both ends present at every channel.
at::Tensor codesWithEnds(at::IntArrayRef sizes, int64_t lo, int64_t hi)
{
    at::Tensor codes = at::randint(lo, hi + 1, sizes).to(at::kFloat);
    codes.select(1, 0).fill_(static_cast<float>(hi));
    codes.narrow(1, 1, 1).narrow(2, 0, 1).fill_(static_cast<float>(lo));
    return codes;
}

TEST(CodeConvolution, Bf16SumsAreTheExactSumsBitForBit)
{
    if (!bf16SumsRunNatively())
        GTEST_SKIP() << "oneDNN has no native bf16 convolution here: the code convolution sums in f32";
    at::manual_seed(11);
    struct Case {
        int64_t in, out, kernel, stride, padding, height, width, inputLo, inputHi, weightLo, weightHi;
    };
    // 8-bit codes at the edge of exactness (255 x 128 x 9 x 57 < 2^24), codes of 256, odd channel
    // counts (3 in, 51 out), stride 2, 1x1 kernels, and the 3-bit codes of training.
    const Case cases[] = {
        {57, 32, 3, 1, 1, 7, 9, 0, 255, -128, 127}, {57, 16, 3, 2, 1, 8, 11, -128, 127, -128, 127},
        {3, 51, 3, 1, 1, 6, 10, 0, 256, -256, 256}, {40, 51, 1, 1, 0, 5, 7, 0, 255, -128, 127},
        {32, 64, 3, 1, 1, 12, 20, 0, 7, -4, 3},
    };
    for (const Case& c : cases) {
        const at::Tensor input = codesWithEnds({2, c.in, c.height, c.width}, c.inputLo, c.inputHi);
        const at::Tensor weight = codesWithEnds({c.out, c.in, c.kernel, c.kernel}, c.weightLo, c.weightHi);
        const at::Tensor exact = at::conv2d(input.to(at::kDouble), weight.to(at::kDouble), {}, {c.stride, c.stride},
                                            {c.padding, c.padding});
        ASSERT_LE(exact.abs().max().item<double>(), 16777216.0) << "the case itself is past exactness";
        const at::Tensor sums =
            bf16ConvolutionSums(input.to(at::kBFloat16).contiguous(at::MemoryFormat::ChannelsLast),
                                weight.to(at::kBFloat16), c.stride, c.padding);
        const at::Tensor f32 =
            convolve(input.contiguous(at::MemoryFormat::ChannelsLast), weight, {}, c.stride, c.padding);
        EXPECT_TRUE(sums.is_contiguous(at::MemoryFormat::ChannelsLast));
        EXPECT_TRUE(at::equal(sums.contiguous(), exact.to(at::kFloat)))
            << c.in << " -> " << c.out << ", k" << c.kernel << ": largest difference "
            << (sums.to(at::kDouble) - exact).abs().max().item<double>();
        EXPECT_TRUE(at::equal(sums.contiguous(), f32.contiguous())) << c.in << " -> " << c.out;
        // Scaled per channel inside oneDNN's pass: the f32 product of the exact sum, then (for a
        // bf16 output) its rounding to bf16, as the separate ops give.
        const at::Tensor scale = at::rand({c.out}) * 1e-3f + 1e-4f;
        const at::Tensor scaled = exact.to(at::kFloat) * scale.view({1, -1, 1, 1});
        const at::Tensor codes = input.to(at::kBFloat16).contiguous(at::MemoryFormat::ChannelsLast);
        const at::Tensor scaledF32 = bf16ConvolutionSums(codes, weight.to(at::kBFloat16), c.stride, c.padding, scale);
        const at::Tensor scaledBf16 =
            bf16ConvolutionSums(codes, weight.to(at::kBFloat16), c.stride, c.padding, scale, at::kBFloat16);
        EXPECT_TRUE(at::equal(scaledF32.contiguous(), scaled)) << c.in << " -> " << c.out << ", scaled";
        EXPECT_EQ(scaledBf16.scalar_type(), at::kBFloat16);
        EXPECT_TRUE(at::equal(scaledBf16.contiguous(), scaled.to(at::kBFloat16))) << c.in << " -> " << c.out;
    }
}

TEST(CodeConvolution, Int8SumsAreTheExactSumsTimesTheScaleBitForBit)
{
    if (!int8SumsExact(255, 127))
        GTEST_SKIP() << "oneDNN's int8 sums are not exact for 8-bit codes here (no VNNI): " << oneDnnIsaName();
    at::manual_seed(17);
    struct Case {
        int64_t in, out, kernel, stride, padding, height, width, inputHi, weightLo, weightHi;
    };
    // 8-bit codes at the edge of exactness (255 x 128 x 9 x 57 < 2^24) with saturated codes on
    // the padded border, odd channel counts (3 in, 51 out), stride 2, a 1x1 kernel, and the
    // 3-bit codes of training at one of the network's shapes (256 -> 512 at 9 x 16).
    const Case cases[] = {
        {57, 32, 3, 1, 1, 7, 9, 255, -128, 127}, {57, 16, 3, 2, 1, 8, 11, 255, -128, 127},
        {3, 51, 3, 1, 1, 6, 10, 255, -127, 127}, {40, 51, 1, 1, 0, 5, 7, 255, -128, 127},
        {256, 512, 3, 1, 1, 9, 16, 7, -4, 3},
    };
    for (const Case& c : cases) {
        const at::Tensor input = codesWithEnds({2, c.in, c.height, c.width}, 0, c.inputHi);
        const at::Tensor weight = codesWithEnds({c.out, c.in, c.kernel, c.kernel}, c.weightLo, c.weightHi);
        const at::Tensor exact = at::conv2d(input.to(at::kDouble), weight.to(at::kDouble), {}, {c.stride, c.stride},
                                            {c.padding, c.padding});
        ASSERT_LE(exact.abs().max().item<double>(), 16777216.0) << "the case itself is past exactness";
        const at::Tensor scale = at::rand({c.out}) * 1e-3f + 1e-4f;
        const at::Tensor scaled = exact.to(at::kFloat) * scale.view({1, -1, 1, 1});
        const at::Tensor codes = input.to(at::kByte).contiguous(at::MemoryFormat::ChannelsLast);
        const at::Tensor f32 = int8ConvolutionSums(codes, weight.to(at::kChar), c.stride, c.padding, scale, at::kFloat);
        const at::Tensor bf16 =
            int8ConvolutionSums(codes, weight.to(at::kChar), c.stride, c.padding, scale, at::kBFloat16);
        ASSERT_TRUE(f32.defined() && bf16.defined()) << "no native int8 kernel for " << c.in << " -> " << c.out;
        EXPECT_TRUE(f32.is_contiguous(at::MemoryFormat::ChannelsLast));
        EXPECT_TRUE(at::equal(f32.contiguous(), scaled))
            << c.in << " -> " << c.out << ", k" << c.kernel << ": largest difference "
            << (f32.to(at::kDouble) - scaled).abs().max().item<double>();
        EXPECT_EQ(bf16.scalar_type(), at::kBFloat16);
        EXPECT_TRUE(at::equal(bf16.contiguous(), scaled.to(at::kBFloat16))) << c.in << " -> " << c.out;
        // Weight codes in either layout (training's weights are channels-last).
        const at::Tensor fromChannelsLast =
            int8ConvolutionSums(codes, weight.to(at::kChar).contiguous(at::MemoryFormat::ChannelsLast), c.stride,
                                c.padding, scale, at::kFloat);
        EXPECT_TRUE(at::equal(fromChannelsLast, f32)) << c.in << " -> " << c.out;
    }
}

TEST(CodeConvolution, AnInputCodeOutsideU8TakesTheF32Sums)
{
    // A NaN (a diverging run's) has no u8 code: it reaches the outputs that see it, as in f32.
    const Operands o = operands(false, false, 2);
    at::Tensor input = o.input.detach().contiguous(at::MemoryFormat::ChannelsLast);
    input[1][3][5][7] = std::numeric_limits<float>::quiet_NaN();
    const at::Tensor got = convolveCodes(input, o.weight.detach(), o.inputStep, o.weightStep, {}, 1, 1, kUnsigned);
    at::Tensor codes = at::round(input / o.inputStep.reshape({}));
    const at::Tensor want = at::conv2d(codes, at::round(o.weight.detach() / o.weightStep), {}, {1, 1}, {1, 1}) *
                            (o.inputStep.reshape({}) * o.weightStep);
    EXPECT_TRUE(at::equal(at::isnan(got), at::isnan(want)));
    EXPECT_EQ(at::isnan(got).sum().item<int64_t>(), 9 * 16) << "a 3x3 neighbourhood of every output channel";
    EXPECT_TRUE(at::equal(at::nan_to_num(got, 0).contiguous(), at::nan_to_num(want, 0).contiguous()));
}

TEST(CodeConvolution, SumsInBf16WhereTheCodesFitAndTheCpuHasIt)
{
    const at::Tensor nchw = at::zeros({1, 16, 4, 4});
    const at::Tensor channelsLast = nchw.contiguous(at::MemoryFormat::ChannelsLast);
    const CodeSums native = bf16SumsRunNatively() ? CodeSums::bf16 : CodeSums::f32;
    EXPECT_EQ(codeSumsFor(channelsLast, CodeBounds{7, false}), native);
    EXPECT_EQ(codeSumsFor(channelsLast, CodeBounds{256, false}), native) << "2^8 has one significant bit";
    EXPECT_EQ(codeSumsFor(channelsLast, CodeBounds{257, false}), CodeSums::f32) << "257 needs 9 significant bits";
    EXPECT_EQ(codeSumsFor(channelsLast, CodeBounds{511, true}), CodeSums::f32) << "the last conv's 9-bit input";
    EXPECT_EQ(codeSumsFor(nchw, CodeBounds{7, false}), CodeSums::f32) << "oneDNN's bf16 kernels want channels-last";
    // Unsigned input codes go to the int8 sums where oneDNN sums them exactly here (VNNI).
    EXPECT_EQ(codeSumsFor(channelsLast, CodeBounds{7, true}), int8SumsExact(7, 7) ? CodeSums::int8 : native);
    EXPECT_EQ(codeSumsFor(channelsLast, CodeBounds{127, true}), int8SumsExact(127, 127) ? CodeSums::int8 : native);
    EXPECT_EQ(codeSumsFor(channelsLast, CodeBounds{128, true}), native) << "-128 is the widest s8, but 128 is not "
                                                                           "a bf16 value's code";
    EXPECT_EQ(codeSumsFor(nchw, CodeBounds{7, true}), CodeSums::f32) << "oneDNN's int8 kernels want channels-last";
    if (__builtin_cpu_supports("avx512vnni") || __builtin_cpu_supports("avxvnni")) {
        EXPECT_TRUE(int8SumsExact(7, 7)) << "VNNI sums u8 x s8 exactly";
    }
}

TEST(CodeConvolution, InBf16PrecisionRoundsTheExactValueOnceWithConvolveBf16sGradients)
{
    if (!precisionSupported(Precision::bf16))
        GTEST_SKIP() << "this CPU has no bf16 convolutions";
    const Operands o = operands(true, /*withBias=*/false);
    const at::Tensor input = o.input.detach().contiguous(at::MemoryFormat::ChannelsLast).requires_grad_();
    const at::Tensor weight = o.weight.detach().requires_grad_();
    const at::Tensor y =
        convolveCodes(input, weight, o.inputStep, o.weightStep, {}, 1, 1, kUnsigned, Precision::bf16);
    EXPECT_EQ(y.scalar_type(), at::kBFloat16);
    EXPECT_TRUE(at::equal(y.contiguous(), expectedValue(o).to(at::kBFloat16)));

    const at::Tensor upstream = at::randn({4, 16, 12, 20}).to(at::kBFloat16);
    y.backward(upstream);
    const at::Tensor x = o.input.detach().contiguous(at::MemoryFormat::ChannelsLast).requires_grad_();
    const at::Tensor w = o.weight.detach().requires_grad_();
    convolveBf16(x, w, {}, 1, 1).backward(upstream);
    EXPECT_TRUE(at::equal(input.grad(), x.grad()));
    EXPECT_TRUE(at::equal(weight.grad(), w.grad()));
}

TEST(CodeConvolution, Bf16ValuesGiveTheirCodesBackUpToTheBound)
{
    // bf16 precision's quantizer rounds each code x step to bf16 (relative error up to 2^-8):
    // codes up to 127 still come back exactly, whatever the step; 255 would not.
    at::manual_seed(13);
    const at::Tensor codes = at::cat({at::arange(0, 128), at::randint(0, 128, {1920})}).to(at::kFloat);
    const at::Tensor input = codes.view({1, 64, 4, 8}).contiguous(at::MemoryFormat::ChannelsLast);
    const at::Tensor weight = at::zeros({64, 64, 1, 1});
    for (int64_t c = 0; c < 64; ++c)
        weight[c][c][0][0] = 1; // the identity: the output is the codes times the scale
    int lostAt255 = 0;
    for (int trial = 0; trial < 50; ++trial) {
        const at::Tensor step = at::rand({1}) * 0.3f + 0.001f;
        const at::Tensor values = (input * step.reshape({})).to(at::kBFloat16);
        const at::Tensor y =
            convolveCodes(values, weight, step, at::ones({}), {}, 1, 0, {kLargestCodeOfBf16Values, true});
        EXPECT_TRUE(at::equal(y.contiguous(), (input * step.reshape({})).contiguous()))
            << "step " << step.item<float>();
        // Past the bound: 2 x 127 + 1 as bf16 values, read back the same way, lose codes for some steps.
        const at::Tensor wide = (at::full({16}, 255.0f) * step).to(at::kBFloat16).to(at::kFloat);
        lostAt255 += !at::equal(at::round(wide / step), at::full({16}, 255.0f));
    }
    EXPECT_GT(lostAt255, 0) << "the bound is tight: 255 x 2^-8 > 1/2";
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
