// LSQ fake quantization: forward values worked out by hand for each range mode, the
// straight-through and step-size gradients against LSQ's formula, the step-size
// initializations, the fused kernel against the reference one, and the u8 codes kernel of the
// int8 code convolution.
#include "test_support.h"

#include "kernels/lsq_kernel.h"
#include "quant/lsq_quantizer.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace tyq {
namespace {

QuantizerSpec spec(int bit, bool allPositive, bool symmetric, bool perChannel = false)
{
    QuantizerSpec s;
    s.bit = bit;
    s.allPositive = allPositive;
    s.symmetric = symmetric;
    s.perChannel = perChannel;
    return s;
}

torch::Tensor floats(const std::vector<float>& values)
{
    return torch::tensor(values, torch::kFloat);
}

std::vector<float> valuesOf(const torch::Tensor& t)
{
    const torch::Tensor c = t.detach().contiguous().to(torch::kFloat);
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// An activation quantizer with its step size set to `step`.
LsqQuantizer activationQuantizer(const QuantizerSpec& s, float step)
{
    LsqQuantizer q(s, QuantizerRole::activation, 1);
    torch::NoGradGuard noGrad;
    q->s.fill_(step);
    return q;
}

// Step sizes are powers of two below, so x / s and q * s are exact and the expected values
// are exact too: the .5 cases are real ties that round half to even (2.5 -> 2, 3.5 -> 4).
TEST(LsqQuantizer, AllPositiveThreeBitClampsToZeroAndSevenAndRoundsHalfToEven)
{
    LsqQuantizer q = activationQuantizer(spec(3, true, false), 0.5f);
    //                  x / s:  -2   0    0.4  0.5   1.5   2.5   3.48  7    7.2  20
    const torch::Tensor x = floats({-1.0f, 0.0f, 0.2f, 0.25f, 0.75f, 1.25f, 1.74f, 3.5f, 3.6f, 10.0f});
    const std::vector<float> expected = {0, 0, 0, 0, 1.0f, 1.0f, 1.5f, 3.5f, 3.5f, 3.5f};
    EXPECT_EQ(valuesOf(q(x)), expected);
    EXPECT_EQ(valuesOf(q->codes(x)), (std::vector<float>{0, 0, 0, 0, 2, 2, 3, 7, 7, 7}));
}

TEST(LsqQuantizer, SymmetricThreeBitClampsToPlusMinusThree)
{
    LsqQuantizer q = activationQuantizer(spec(3, false, true), 0.25f);
    //               x / s:  -8     -3.5    -2.5    -1.5    -0.5    0.5    1.2   2.5    3      3.6   20
    const torch::Tensor x = floats({-2.0f, -0.875f, -0.625f, -0.375f, -0.125f, 0.125f, 0.3f, 0.625f, 0.75f, 0.9f, 5.0f});
    const std::vector<float> expected = {-0.75f, -0.75f, -0.5f, -0.5f, 0, 0, 0.25f, 0.5f, 0.75f, 0.75f, 0.75f};
    const std::vector<float> got = valuesOf(q(x));
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(got[i], expected[i]) << "x = " << valuesOf(x)[i]; // -0 == 0 is fine
    EXPECT_EQ(valuesOf(q->codes(x)), (std::vector<float>{-3, -3, -2, -2, 0, 0, 1, 2, 3, 3, 3}));
}

TEST(LsqQuantizer, SignedThreeBitUsesMinusFourToThree)
{
    LsqQuantizer q = activationQuantizer(spec(3, false, false), 0.5f);
    //                x / s:  -6     -4.5    -3.5    -2.5   0.5    2.5    3     3.5    4
    const torch::Tensor x = floats({-3.0f, -2.25f, -1.75f, -1.25f, 0.25f, 1.25f, 1.5f, 1.75f, 2.0f});
    const std::vector<float> expected = {-2.0f, -2.0f, -2.0f, -1.0f, 0, 1.0f, 1.5f, 1.5f, 1.5f};
    EXPECT_EQ(valuesOf(q(x)), expected);
    EXPECT_EQ(valuesOf(q->codes(x)), (std::vector<float>{-4, -4, -4, -2, 0, 2, 3, 3, 3}));
}

TEST(LsqQuantizer, BitZeroIsTheIdentityAndKeepsItsStepSize)
{
    torch::manual_seed(1);
    LsqQuantizer q(spec(0, true, false), QuantizerRole::activation, 1);
    const torch::Tensor x = torch::randn({2, 3, 4, 5}) * 10;
    EXPECT_TRUE(torch::equal(q(x), x));
    // The reference's checkpoints hold quan_a_fn.s even for bit 0 (layer 0): it must exist.
    ASSERT_EQ(q->s.sizes(), torch::IntArrayRef({1}));
    EXPECT_FLOAT_EQ(q->s.item<float>(), 0.1260f);
    q->setKernel(QuantKernel::fused);
    EXPECT_TRUE(torch::equal(q(x), x));
}

TEST(LsqQuantizer, InputGradientIsStraightThroughInsideTheRangeAndZeroOutside)
{
    LsqQuantizer q = activationQuantizer(spec(3, false, true), 0.25f); // codes -3..3, x in [-0.75, 0.75]
    const torch::Tensor x = floats({-5.0f, -0.8f, -0.7f, -0.3f, 0.01f, 0.33f, 0.74f, 0.76f, 2.0f}).requires_grad_();
    q(x).sum().backward();
    EXPECT_EQ(valuesOf(x.grad()), (std::vector<float>{0, 0, 1, 1, 1, 1, 1, 0, 0}));
}

// dL/ds = g * sum_i grad_i * (q_i - x_i / s   if Qn <= x_i / s <= Qp,
//                             Qn or Qp         below / above the range),
// g = 1 / sqrt(Qp * numel(x)), written here independently of the implementation.
double lsqStepGradient(const std::vector<float>& x, const std::vector<float>& grad, double s, int qn, int qp)
{
    double sum = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double v = static_cast<double>(x[i]) / s;
        double d;
        if (v < qn)
            d = qn;
        else if (v > qp)
            d = qp;
        else
            d = std::nearbyint(v) - v;
        sum += grad[i] * d;
    }
    return sum / std::sqrt(static_cast<double>(qp) * static_cast<double>(x.size()));
}

TEST(LsqQuantizer, StepGradientFollowsTheLsqFormulaForEachRange)
{
    struct Case {
        QuantizerSpec spec;
        int qn, qp;
    };
    const std::vector<Case> cases = {{spec(3, true, false), 0, 7}, {spec(3, false, true), -3, 3},
                                     {spec(3, false, false), -4, 3}, {spec(5, true, false), 0, 31}};
    // Values strictly inside, strictly below and strictly above every range (no exact edges).
    const std::vector<float> xs = {-9.0f, -1.3f, -0.61f, -0.2f, 0.07f, 0.4f, 0.9f, 1.37f, 2.2f, 9.0f, 30.0f};
    const std::vector<float> grads = {1.0f, -2.0f, 0.5f, 3.0f, -1.5f, 2.0f, 1.0f, -0.25f, 0.75f, 2.5f, -1.0f};
    for (const Case& c : cases) {
        for (QuantKernel kernel : {QuantKernel::reference, QuantKernel::fused}) {
            LsqQuantizer q = activationQuantizer(c.spec, 0.3f);
            q->setKernel(kernel);
            const torch::Tensor x = floats(xs).requires_grad_();
            (q(x) * floats(grads)).sum().backward();
            const double expected = lsqStepGradient(xs, grads, 0.3f, c.qn, c.qp);
            ASSERT_TRUE(q->s.grad().defined());
            EXPECT_NEAR(q->s.grad().item<double>(), expected, 1e-5 * std::max(1.0, std::abs(expected)))
                << "range [" << c.qn << ", " << c.qp << "], kernel " << static_cast<int>(kernel);
        }
    }
}

TEST(LsqQuantizer, WeightStepStartsAtTwiceMeanAbsOverSqrtQp)
{
    torch::manual_seed(7);
    const torch::Tensor w = torch::randn({4, 3, 3, 3}) * 0.1;
    const std::vector<float> values = valuesOf(w);

    LsqQuantizer perTensor(spec(3, false, true), QuantizerRole::weight, 4);
    EXPECT_EQ(perTensor->s.dim(), 0);
    perTensor->initStepFromWeight(w);
    double meanAbs = 0;
    for (float v : values)
        meanAbs += std::abs(v);
    meanAbs /= static_cast<double>(values.size());
    ASSERT_EQ(perTensor->s.dim(), 0) << "per-tensor weight step sizes have shape [] like the reference's";
    EXPECT_NEAR(perTensor->s.item<double>(), 2 * meanAbs / std::sqrt(3.0), 1e-6);

    LsqQuantizer perChannel(spec(4, false, false, /*perChannel=*/true), QuantizerRole::weight, 4); // Qp = 7
    perChannel->initStepFromWeight(w);
    ASSERT_EQ(perChannel->s.sizes(), torch::IntArrayRef({4, 1, 1, 1}));
    for (int c = 0; c < 4; ++c) {
        double m = 0;
        for (int k = 0; k < 27; ++k)
            m += std::abs(values[static_cast<size_t>(c * 27 + k)]);
        m /= 27;
        EXPECT_NEAR(perChannel->s[c].item<double>(), 2 * m / std::sqrt(7.0), 1e-6) << "channel " << c;
    }
}

TEST(LsqQuantizer, ActivationStepStartsAtTheReferenceConstant)
{
    LsqQuantizer q(spec(3, true, false), QuantizerRole::activation, 1);
    ASSERT_EQ(q->s.sizes(), torch::IntArrayRef({1}));
    EXPECT_FLOAT_EQ(q->s.item<float>(), 0.1260f);
    EXPECT_FLOAT_EQ(q->s.item<float>(), kReferenceActivationStep);
}

// Random activation-shaped input with exact range edges, exact ties and far outliers mixed in.
torch::Tensor activationLikeInput(float step, int qn, int qp, uint64_t seed)
{
    torch::manual_seed(seed);
    torch::Tensor x = torch::randn({2, 8, 6, 5}) * (step * qp * 0.6f);
    auto flat = x.view({-1});
    for (int64_t i = 0; i < flat.numel(); i += 7)
        flat[i] = step * static_cast<float>(i % 2 ? qp : qn); // exactly on an edge
    for (int64_t i = 3; i < flat.numel(); i += 11)
        flat[i] = step * (static_cast<float>(i % (qp - qn)) + qn + 0.5f); // exact tie
    for (int64_t i = 5; i < flat.numel(); i += 13)
        flat[i] = step * static_cast<float>(i % 2 ? 3 * qp + 1 : 3 * qn - 1); // outside
    return x;
}

TEST(LsqQuantizer, FusedKernelMatchesTheReferenceKernel)
{
    struct Case {
        QuantizerSpec spec;
        int qn, qp;
        float step;
    };
    const std::vector<Case> cases = {{spec(3, true, false), 0, 7, 0.125f},
                                     {spec(3, false, true), -3, 3, 0.0625f},
                                     {spec(3, false, false), -4, 3, 0.3f},
                                     {spec(9, true, false), 0, 511, 0.0261f}};
    uint64_t seed = 11;
    for (const Case& c : cases) {
        const torch::Tensor base = activationLikeInput(c.step, c.qn, c.qp, seed++);
        const torch::Tensor upstream = torch::randn(base.sizes());

        auto run = [&](QuantKernel kernel) {
            LsqQuantizer q = activationQuantizer(c.spec, c.step);
            q->setKernel(kernel);
            torch::Tensor x = base.clone().requires_grad_();
            torch::Tensor y = q(x);
            (y * upstream).sum().backward();
            return std::make_tuple(y.detach(), x.grad().clone(), q->s.grad().clone());
        };
        const auto [yRef, gxRef, gsRef] = run(QuantKernel::reference);
        const auto [yFused, gxFused, gsFused] = run(QuantKernel::fused);
        const std::string where = "range [" + std::to_string(c.qn) + ", " + std::to_string(c.qp) + "]";

        EXPECT_TRUE(torch::equal(yRef, yFused)) << where << ": forward values differ, max "
                                                 << (yRef - yFused).abs().max().item<float>();
        EXPECT_TRUE(torch::allclose(gxRef, gxFused, 1e-6, 0)) << where << ": input gradients differ";
        // The step gradient is a sum of thousands of terms: compare relative to its magnitude.
        const double a = gsRef.item<double>();
        const double b = gsFused.item<double>();
        EXPECT_NEAR(a, b, 1e-6 * std::max(std::abs(a), 1e-3)) << where << ": step-size gradients differ";
        // Sanity: the input hits both edges and the outside, so the comparison covers every branch.
        EXPECT_GT((gxRef == 0).sum().item<int64_t>(), 0) << where;
        EXPECT_GT((gxRef != 0).sum().item<int64_t>(), 0) << where;
    }
}

TEST(LsqQuantizer, FusedKernelOnBf16InputsIsItsF32ResultRoundedOnce)
{
    // bf16 precision quantizes bf16 activations as they are: each value and input gradient is the
    // f32 kernel's on the widened inputs, rounded to bf16 once, and the step gradient is the same
    // sum. An odd length runs the scalar tail too; 7-bit codes reach the bound up to which the
    // bf16 values still give their codes back (model/code_convolution.h).
    struct Case {
        QuantizerSpec spec;
        int qn, qp;
        float step;
    };
    const std::vector<Case> cases = {{spec(3, true, false), 0, 7, 0.1137f},
                                     {spec(3, false, false), -4, 3, 0.3f},
                                     {spec(7, true, false), 0, 127, 0.0173f}};
    uint64_t seed = 21;
    for (const Case& c : cases) {
        const torch::Tensor base =
            activationLikeInput(c.step, c.qn, c.qp, seed++).view({-1}).narrow(0, 0, 473).to(torch::kBFloat16);
        const torch::Tensor upstream = torch::randn(base.sizes()).to(torch::kBFloat16);
        auto run = [&](torch::ScalarType type) {
            LsqQuantizer q = activationQuantizer(c.spec, c.step);
            q->setKernel(QuantKernel::fused);
            torch::Tensor x = base.to(type).clone().requires_grad_();
            torch::Tensor y = q(x);
            y.backward(upstream.to(type));
            return std::make_tuple(y.detach(), x.grad().clone(), q->s.grad().clone());
        };
        const auto [y, gx, gs] = run(torch::kBFloat16);
        const auto [yF32, gxF32, gsF32] = run(torch::kFloat);
        const std::string where = "range [" + std::to_string(c.qn) + ", " + std::to_string(c.qp) + "]";
        ASSERT_EQ(y.scalar_type(), torch::kBFloat16) << where;
        ASSERT_EQ(gx.scalar_type(), torch::kBFloat16) << where;
        EXPECT_TRUE(torch::equal(y, yF32.to(torch::kBFloat16))) << where;
        EXPECT_TRUE(torch::equal(gx, gxF32.to(torch::kBFloat16))) << where;
        EXPECT_EQ(gs.item<float>(), gsF32.item<float>()) << where;
        const torch::Tensor codes = torch::round(yF32 / c.step);
        EXPECT_TRUE(torch::equal(torch::round(y.to(torch::kFloat) * (1.0f / c.step)), codes))
            << where << ": the bf16 values lost their codes";
    }
}

TEST(LsqQuantizer, FusedKernelTakesPerChannelWeightStepsInEitherLayout)
{
    // Weights: one step per output channel, each channel's elements contiguous (OIHW, or OHWI
    // for a channels-last weight); 27 elements per channel leaves every chunk a vector tail.
    torch::manual_seed(5);
    for (const auto layout : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast}) {
        torch::Tensor w = torch::randn({6, 3, 3, 3}) * 0.2;
        w.select(1, 0).select(1, 0).select(1, 0).copy_(torch::tensor({2.0f, -2.0f, 0.f, 3.0f, -3.0f, 0.1f}));
        w = w.contiguous(layout); // a weight outside the range in most channels
        const torch::Tensor upstream = torch::randn({6, 3, 3, 3});
        auto run = [&](QuantKernel kernel) {
            LsqQuantizer q(spec(3, false, false, /*perChannel=*/true), QuantizerRole::weight, 6);
            q->initStepFromWeight(w);
            q->setKernel(kernel);
            const torch::Tensor x = w.clone().requires_grad_();
            const torch::Tensor y = q(x);
            (y * upstream).sum().backward();
            return std::make_tuple(y.detach(), x.grad().clone(), q->s.grad().clone(), y.grad_fn()->name());
        };
        const auto [yRef, gxRef, gsRef, nodeRef] = run(QuantKernel::reference);
        const auto [yFused, gxFused, gsFused, nodeFused] = run(QuantKernel::fused);
        const char* where = layout == torch::MemoryFormat::Contiguous ? "OIHW" : "OHWI";
        EXPECT_NE(nodeFused.find("FusedLsqFunction"), std::string::npos) << where << ": took " << nodeFused;
        EXPECT_EQ(nodeRef.find("FusedLsqFunction"), std::string::npos) << where;
        EXPECT_TRUE(torch::equal(yRef, yFused)) << where << ": forward values differ";
        EXPECT_TRUE(torch::equal(gxRef, gxFused)) << where << ": input gradients differ";
        ASSERT_EQ(gsFused.sizes(), gsRef.sizes()) << where;
        // Each channel's step gradient sums its 27 terms (in double here, in f32 there).
        EXPECT_TRUE(torch::allclose(gsRef, gsFused, 1e-5, 1e-7)) << where << ": step gradients differ, max "
                                                                 << (gsRef - gsFused).abs().max().item<float>();
        EXPECT_GT((gxRef == 0).sum().item<int64_t>(), 0) << where << ": no weight outside the range";
    }
}

TEST(LsqQuantizer, CodesAreIntegersInRangeThatReproduceTheForward)
{
    torch::manual_seed(3);
    for (const auto& [s, qn, qp] : {std::make_tuple(spec(3, true, false), 0, 7), std::make_tuple(spec(3, false, true), -3, 3),
                                    std::make_tuple(spec(4, false, false), -8, 7)}) {
        LsqQuantizer q = activationQuantizer(s, 0.2f);
        const torch::Tensor x = torch::randn({3, 4, 5, 6});
        const torch::Tensor codes = q->codes(x);
        EXPECT_TRUE(torch::equal(codes, codes.round()));
        EXPECT_EQ(codes.min().item<float>(), static_cast<float>(qn)); // x / s = 5 randn hits both ends
        EXPECT_EQ(codes.max().item<float>(), static_cast<float>(qp));
        EXPECT_TRUE(torch::allclose(codes * q->s, q(x).detach(), 0, 1e-6));
    }
}

TEST(LsqQuantizer, U8CodeKernelGivesEveryCodeBackAndFlagsThoseOutsideU8)
{
    // The int8 code convolution's input: round(value / step) as u8, from f32 values (codes up to
    // 255) and from bf16 ones (up to 127, kLargestCodeOfBf16Values), over lengths that leave
    // vector tails; a code outside [0, 255], or a NaN, anywhere makes the call say so.
    torch::manual_seed(21);
    for (int trial = 0; trial < 20; ++trial) {
        const float step = torch::rand({}).item<float>() * 0.3f + 0.001f;
        const int64_t n = 256 + trial * 7;
        const torch::Tensor codes = torch::cat({torch::arange(0, 256), torch::randint(0, 256, {n - 256})}).to(torch::kFloat);
        const torch::Tensor values = codes * step;
        std::vector<uint8_t> got(n);
        ASSERT_TRUE(kernels::lsqCodesToU8(values.data_ptr<float>(), got.data(), n, 1.0f / step)) << "step " << step;
        EXPECT_TRUE(torch::equal(torch::from_blob(got.data(), {n}, torch::kUInt8).to(torch::kFloat), codes));

        const torch::Tensor small = codes.remainder(128);
        const torch::Tensor bf16 = (small * step).to(torch::kBFloat16);
        ASSERT_TRUE(kernels::lsqCodesToU8(reinterpret_cast<const uint16_t*>(bf16.data_ptr<at::BFloat16>()), got.data(),
                                          n, 1.0f / step));
        EXPECT_TRUE(torch::equal(torch::from_blob(got.data(), {n}, torch::kUInt8).to(torch::kFloat), small));

        for (const float outside : {256.0f, -1.0f, std::numeric_limits<float>::quiet_NaN()}) {
            torch::Tensor broken = values.clone();
            broken[trial * 11 % n] = outside * step;
            EXPECT_FALSE(kernels::lsqCodesToU8(broken.data_ptr<float>(), got.data(), n, 1.0f / step))
                << "code " << outside << " at " << trial * 11 % n;
        }
    }
}

} // namespace
} // namespace tyq
