// The hardware export: bit packing, the fixed-point requantization, the integer convolution,
// exports of the reference's 3-bit checkpoint and of a tyq LSQ checkpoint, the integer engine
// against the fake-quantized model (codes per layer, detections), and the export folder read
// back by tyq (files checked, the network rebuilt from it).
#include "test_support.h"

#include "common/error.h"
#include "data/image_io.h"
#include "data/synthetic_dataset.h"
#include "hw/bit_packing.h"
#include "hw/integer_agreement.h"
#include "hw/integer_engine.h"
#include "hw/integer_model.h"
#include "hw/integer_model_files.h"
#include "hw/integer_model_sizes.h"
#include "hw/onednn_integer_conv.h"
#include "hw/requantization.h"
#include "io/checkpoint.h"
#include "io/npy.h"
#include "io/state_dict.h"
#include "kernels/integer_code_kernel.h"
#include "kernels/integer_conv_pool_kernel.h"
#include "model/model_loader.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

namespace tyq {
namespace {

namespace fs = std::filesystem;

using test::errorOf;
using test::shippedQuantYaml;
fs::path goldenDir() { return test::referenceDir() / "golden" / "seed_outputs"; }

// ---------------------------------------------------------------------------------------------
// Bit packing

TEST(BitPacking, ThreeBitCodesPackLsbFirstWithZeroPadding)
{
    // Fields 001, 111, 011, 100 (two's complement of 1, -1, 3, -4), each least significant bit
    // first: stream bits 100 111 110 001; byte 0 holds stream bits 0..7 (bit 0 = its LSB) =
    // 0b11111001, byte 1 holds stream bits 8..11 = 0,0,0,1 and 4 zero padding bits = 0b00001000.
    const std::vector<int32_t> codes = {1, -1, 3, -4};
    const std::vector<uint8_t> bytes = packCodes(codes.data(), codes.size(), 3, /*isSigned=*/true);
    ASSERT_EQ(bytes.size(), 2u);
    EXPECT_EQ(bytes[0], 0xF9);
    EXPECT_EQ(bytes[1], 0x08);
    EXPECT_EQ(unpackCodes(bytes.data(), bytes.size(), codes.size(), 3, true), codes);
}

TEST(BitPacking, RoundTripsEveryWidthSignednessAndOddCounts)
{
    std::mt19937 rng(7);
    for (int bits = 1; bits <= 16; ++bits)
        for (bool isSigned : {false, true})
            for (size_t count : {size_t(0), size_t(1), size_t(3), size_t(7), size_t(13), size_t(1001), size_t(4099)}) {
                const int lo = isSigned ? -(1 << (bits - 1)) : 0;
                const int hi = isSigned ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
                std::uniform_int_distribution<int> pick(lo, hi);
                std::vector<int32_t> codes(count);
                for (int32_t& c : codes)
                    c = pick(rng);
                if (count >= 2) { // the extremes are always present
                    codes[0] = lo;
                    codes[1] = hi;
                }
                const std::vector<uint8_t> bytes = packCodes(codes.data(), codes.size(), bits, isSigned);
                ASSERT_EQ(bytes.size(), (count * bits + 7) / 8) << bits << " bits, " << count;
                ASSERT_EQ(bytes.size(), packedByteCount(count, bits));
                if (count * bits % 8 != 0) { // padding bits are zero
                    EXPECT_EQ(bytes.back() >> (count * bits % 8), 0) << bits << " bits, " << count;
                }
                EXPECT_EQ(unpackCodes(bytes.data(), bytes.size(), count, bits, isSigned), codes)
                    << bits << " bits, signed " << isSigned << ", " << count << " codes";
            }
}

TEST(BitPacking, RefusesCodesOutsideTheFieldAndShortBuffers)
{
    const std::vector<int32_t> tooBig = {0, 4};
    EXPECT_NE(errorOf([&] { packCodes(tooBig.data(), tooBig.size(), 2, true); }).find("does not fit 2 signed bits"),
              std::string::npos);
    const std::vector<int32_t> negative = {-1};
    EXPECT_NE(errorOf([&] { packCodes(negative.data(), 1, 3, false); }).find("unsigned"), std::string::npos);
    const std::vector<uint8_t> bytes(2, 0);
    EXPECT_NE(errorOf([&] { unpackCodes(bytes.data(), bytes.size(), 6, 3, false); }).find("need 3 bytes"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Requantization

TEST(Requantization, TiesRoundUpAndTheRangeClamps)
{
    // M = 0.5, C = 0: acc 1 -> 0.5 -> 1 (half up), acc -1 -> -0.5 -> 0, acc 3 -> 1.5 -> 2.
    const Requantization r = makeRequantization({0.5 * 0.25}, {0.0}, 0.25, 3, 0, 7, {1000});
    ASSERT_EQ(r.channels(), 1);
    const auto q = [&](int32_t acc, bool* tie = nullptr) {
        return requantize(acc, r.multiplier[0], r.bias[0], r.shift[0], r.qmin, r.qmax, tie);
    };
    bool tie = false;
    EXPECT_EQ(q(1, &tie), 1);
    EXPECT_TRUE(tie);
    EXPECT_EQ(q(3), 2);
    EXPECT_EQ(q(2, &tie), 1);
    EXPECT_FALSE(tie);
    EXPECT_EQ(q(-1), 0);
    EXPECT_EQ(q(-100), 0); // clamp at qmin
    EXPECT_EQ(q(100), 7);  // clamp at qmax
}

TEST(Requantization, FixedPointAgreesWithExactRoundingAwayFromTies)
{
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> scale(1e-4, 0.8), offset(-300, 300);
    std::uniform_int_distribution<int32_t> acc(-60000, 60000);
    int64_t checked = 0, differ = 0;
    for (int channel = 0; channel < 200; ++channel) {
        const double a = scale(rng) * (channel % 7 == 0 ? -1 : 1), b = offset(rng), step = 0.17;
        const Requantization r = makeRequantization({a}, {b}, step, 9, 0, 511, {60000});
        EXPECT_GE(r.shift[0], 1);
        EXPECT_LE(std::abs(static_cast<int64_t>(r.bias[0])), int64_t(2147483647));
        for (int k = 0; k < 2000; ++k) {
            const int32_t v = acc(rng);
            const double exact = a / step * v + b / step;
            if (std::abs(exact - std::floor(exact) - 0.5) < 1e-4) // too close to a tie to call
                continue;
            const double expected = std::clamp(std::round(exact), 0.0, 511.0);
            ++checked;
            differ += requantize(v, r.multiplier[0], r.bias[0], r.shift[0], r.qmin, r.qmax) != expected;
        }
    }
    EXPECT_GT(checked, 300000);
    EXPECT_EQ(differ, 0);
}

TEST(Requantization, AHugeOffsetSaturatesWithoutChangingOutputs)
{
    // C = 1e12 / step cannot be an int32 at any shift; every reachable output is qmax anyway.
    const Requantization r = makeRequantization({0.01}, {1e12}, 0.1, 3, 0, 7, {5000});
    for (int32_t acc : {-5000, 0, 5000})
        EXPECT_EQ(requantize(acc, r.multiplier[0], r.bias[0], r.shift[0], r.qmin, r.qmax), 7);
    const Requantization low = makeRequantization({0.01}, {-1e12}, 0.1, 3, 0, 7, {5000});
    EXPECT_EQ(requantize(5000, low.multiplier[0], low.bias[0], low.shift[0], low.qmin, low.qmax), 0);
}

// ---------------------------------------------------------------------------------------------
// Integer convolution

TEST(IntegerConvolution, EqualsAnExactDoubleConvolution)
{
    torch::manual_seed(5);
    for (int64_t size : {1, 3})
        for (int64_t stride : {1, 2})
            for (int64_t padding : {int64_t(0), (size - 1) / 2 + 1}) {
                const at::Tensor input = torch::randint(0, 512, {2, 5, 11, 13}, torch::kInt);
                const at::Tensor weight = torch::randint(-4, 4, {7, 5, size, size}, torch::kInt);
                const at::Tensor got = integerConvolution(input, weight, stride, padding);
                // Integers below 2^53: the double convolution is exact.
                const at::Tensor expected =
                    at::conv2d(input.to(at::kDouble), weight.to(at::kDouble), {}, {stride, stride}, {padding, padding});
                ASSERT_EQ(got.sizes(), expected.sizes());
                EXPECT_TRUE(torch::equal(got, expected.to(at::kInt)))
                    << "size " << size << " stride " << stride << " padding " << padding;
            }
}


// oneDNN's int8 convolution against the loops, for every way codes go into it: u8 (pixels and
// unsigned codes), s8 (signed codes; without VNNI, shifted to u8 and corrected, which padding
// tests), and codes wider than 8 bits split in two; the range's own extremes (saturated codes:
// whole channels at qmin and qmax), strides and padding; 8-bit weights, and 7-bit ones, whose
// 16-bit pair sums fit (oneDNN without VNNI). ctest also runs it under ONEDNN_MAX_CPU_ISA=AVX2.
TEST(IntegerConvolution, OneDnnEqualsTheLoopsForEveryInputForm)
{
    torch::manual_seed(6);
    std::cout << "oneDNN ISA: " << oneDnnIsaName() << (oneDnnSumsExactly() ? " (exact sums)" : " (inexact sums)") << "\n";
    const std::vector<std::pair<int, int>> ranges{{0, 255}, {0, 7}, {-128, 127}, {-4, 3}, {0, 511}, {-2048, 2047}};
    for (const auto& [qmin, qmax] : ranges)
        for (int64_t size : {1, 3})
            for (int64_t stride : {1, 2})
                for (int64_t padding : {int64_t(0), (size - 1) / 2 + 1})
                    for (const int wmax : qmax > 255 || qmin < -128 ? std::vector<int>{3} : std::vector<int>{127, 63}) {
                        at::Tensor input = torch::randint(qmin, qmax + 1, {2, 19, 11, 13}, torch::kInt);
                        input.select(1, 0).fill_(qmax); // saturated channels
                        input.select(1, 1).fill_(qmin);
                        at::Tensor weight = torch::randint(-wmax, wmax + 1, {17, 19, size, size}, torch::kInt);
                        weight.select(0, 0).fill_(wmax);
                        weight.select(0, 1).fill_(-wmax);
                        const OneDnnIntegerConv conv(weight, stride, padding, qmin, qmax);
                        const std::string what = "range [" + std::to_string(qmin) + ", " + std::to_string(qmax) +
                                                 "] size " + std::to_string(size) + " stride " + std::to_string(stride) +
                                                 " padding " + std::to_string(padding) + " weights +-" + std::to_string(wmax);
                        // 7-bit weights run on oneDNN on any CPU: their pair sums fit 16 bits, and s8
                        // codes are shifted to u8 where oneDNN's own s8 sums are inexact.
                        if (wmax == 63) {
                            EXPECT_TRUE(conv.usable()) << what << ": " << conv.reason();
                        }
                        if (!conv.usable()) { // only without VNNI: saturating 16-bit pair sums
                            EXPECT_FALSE(oneDnnSumsExactly()) << what << ": " << conv.reason();
                            continue;
                        }
                        const at::Tensor expected = integerConvolution(input, weight, stride, padding);
                        const at::Tensor got = conv.run(input);
                        ASSERT_EQ(got.sizes(), expected.sizes()) << what;
                        EXPECT_TRUE(torch::equal(got, expected)) << what;
                    }
    // Weights wider than 8 bits have no oneDNN form: the layer says so (the engine uses the loops).
    const OneDnnIntegerConv wide(torch::full({2, 2, 1, 1}, 300, torch::kInt), 1, 0, 0, 7);
    EXPECT_FALSE(wide.usable());
    EXPECT_NE(wide.reason().find("wider than 8 bits"), std::string::npos);
}

// The channels-last passes between the oneDNN convolutions, against the documented scalar
// formula (requantize) and ATen: every output type, channel counts with and without a 16-wide
// block and a tail, accumulators and multipliers at the int32 extremes, shifts 1..62.
TEST(IntegerCodeKernels, RequantizationEqualsTheDocumentedFormula)
{
    std::mt19937_64 random(7);
    const auto uniform = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(random); };
    const std::vector<std::pair<int32_t, int32_t>> ranges{{0, 255}, {0, 7}, {-4, 3}, {-128, 127}, {-256, 255}, {0, 511}};
    for (const int64_t channels : {3, 16, 19, 51, 64})
        for (const auto& [qmin, qmax] : ranges) {
            const int64_t pixels = 36; // a 6 x 6 map for the pooled check
            std::vector<int64_t> multiplier, offset, shift;
            std::vector<int32_t> m32, b32, s32;
            for (int64_t c = 0; c < channels; ++c) {
                const auto s = static_cast<int32_t>(c == 0 ? 1 : c == 1 ? 62 : uniform(1, 62));
                const auto m = static_cast<int32_t>(c == 2 ? INT32_MAX : c == 3 ? -INT32_MAX : uniform(-INT32_MAX, INT32_MAX) >> uniform(0, 30));
                const auto b = static_cast<int32_t>(uniform(-INT32_MAX, INT32_MAX) >> uniform(0, 30));
                m32.push_back(m), b32.push_back(b), s32.push_back(s);
                multiplier.push_back(m), offset.push_back(int64_t{b} + (int64_t{1} << (s - 1))), shift.push_back(s);
            }
            std::vector<int32_t> acc(static_cast<size_t>(pixels * channels));
            for (size_t i = 0; i < acc.size(); ++i)
                acc[i] = static_cast<int32_t>(i % 7 == 0 ? INT32_MAX : i % 7 == 1 ? -INT32_MAX : uniform(-INT32_MAX, INT32_MAX) >> uniform(0, 31));
            const kernels::RequantizeTable table{multiplier.data(), offset.data(), shift.data(), channels, qmin, qmax};
            const auto check = [&](auto* out, const char* type) {
                kernels::requantizeRows(acc.data(), pixels, table, out);
                for (int64_t p = 0; p < pixels; ++p)
                    for (int64_t c = 0; c < channels; ++c) {
                        const auto k = static_cast<size_t>(c), i = static_cast<size_t>(p * channels + c);
                        ASSERT_EQ(int32_t{out[i]}, requantize(acc[i], m32[k], b32[k], s32[k], qmin, qmax))
                            << type << " [" << qmin << ", " << qmax << "], " << channels << " channels, pixel " << p
                            << " channel " << c;
                    }
            };
            if (qmin >= 0 && qmax <= 255) {
                std::vector<uint8_t> out(acc.size());
                check(out.data(), "u8");
            }
            if (qmin >= -128 && qmax <= 127) {
                std::vector<int8_t> out(acc.size());
                check(out.data(), "s8");
            }
            std::vector<int16_t> out(acc.size());
            check(out.data(), "s16");

            // Pooled in one pass (multipliers of both signs above): the pool of the codes.
            const kernels::MapShape shape{1, 6, 6, channels};
            for (const auto& [size, stride, padding] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{2, 2, 0}, {3, 1, 1}}) {
                std::vector<int16_t> pooled(acc.size()), expected(acc.size());
                kernels::requantizeMaxPool(acc.data(), shape, size, stride, padding, table, pooled.data());
                kernels::maxPoolCodes(out.data(), shape, size, stride, padding, expected.data());
                const int64_t side = (6 + 2 * padding - size) / stride + 1;
                for (int64_t i = 0; i < side * side * channels; ++i)
                    ASSERT_EQ(pooled[static_cast<size_t>(i)], expected[static_cast<size_t>(i)])
                        << "[" << qmin << ", " << qmax << "], " << channels << " channels, pool size " << size << " stride "
                        << stride << ", position " << i;
            }
        }
}

// The fused first stage (conv + requantization + 2x2 max-pool) against the reference loops, the
// documented formula and a pool of the codes, in each body this CPU runs (VNNI; AVX2 with 16-bit
// sums): every input channel count it takes (1..5: 1 to 4 groups of 4 bytes, 2 to 8 pairs, per
// kernel row), one and two 16-channel blocks, odd sizes (the pool drops the last row and
// column), saturated pixels (255) and weights (VNNI: -128, 127; AVX2: the widest whose sums fit
// int16), multipliers of both signs, every output type.
TEST(IntegerCodeKernels, FusedConvPoolEqualsConvRequantizeAndPool)
{
    std::vector<kernels::FusedConvBody> bodies;
    if (kernels::fusedConvPoolBody() == kernels::FusedConvBody::vnni)
        bodies.push_back(kernels::FusedConvBody::vnni);
    if (kernels::fusedConvPoolBody() != kernels::FusedConvBody::none)
        bodies.push_back(kernels::FusedConvBody::avx2); // every AVX-512 CPU has AVX2
    if (bodies.empty())
        GTEST_SKIP() << "this CPU has no AVX2: the engine runs its first conv on oneDNN instead (tested above)";
    std::mt19937_64 random(11);
    const auto uniform = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(random); };
    struct Case {
        int64_t n, h, w, c, o;
        int32_t qmin, qmax;
    };
    for (const kernels::FusedConvBody body : bodies)
    for (const Case& k : std::vector<Case>{{2, 6, 10, 3, 16, 0, 7}, {1, 7, 9, 3, 32, -4, 3}, {1, 5, 5, 1, 16, -256, 255},
                                           {1, 4, 6, 2, 16, 0, 255}, {1, 8, 3, 4, 16, -128, 127}, {1, 3, 4, 5, 32, 0, 7}}) {
        const std::string what = std::string(kernels::fusedConvBodyName(body)) + ": " + std::to_string(k.c) + " -> " +
                                 std::to_string(k.o) + " channels, " + std::to_string(k.h) + "x" + std::to_string(k.w) +
                                 ", codes [" + std::to_string(k.qmin) + ", " + std::to_string(k.qmax) + "]";
        // AVX2 sums in int16: the widest weights with 255 x 9c x wmax <= 32767.
        const int64_t wmax = body == kernels::FusedConvBody::vnni ? 127 : 32767 / (255 * 9 * k.c);
        at::Tensor pixels = torch::randint(0, 256, {k.n, k.c, k.h, k.w}, torch::kInt);
        pixels[0][0][0][0] = 255, pixels[0][k.c - 1][k.h - 1][k.w - 1] = 255;
        pixels[k.n - 1].select(1, 1).fill_(255); // a saturated column
        at::Tensor weights = torch::randint(-wmax, wmax + 1, {k.o, k.c, 3, 3}, torch::kInt);
        weights[0].fill_(body == kernels::FusedConvBody::vnni ? -128 : -wmax), weights[1].fill_(wmax); // the largest sums of either sign
        const at::Tensor acc = integerConvolution(pixels, weights, 1, 1);
        const at::Tensor randomSums = acc.slice(1, 2); // past the two saturated channels
        const double spread = double(randomSums.max().item<int32_t>() - randomSums.min().item<int32_t>());
        std::vector<int64_t> multiplier, offset, shift;
        std::vector<int32_t> m32, b32, s32;
        for (int64_t o = 0; o < k.o; ++o) {
            // Scales that spread the sums over the code range, centred on it, so that codes fall
            // inside it as well as on both clamps.
            const auto s = static_cast<int32_t>(uniform(18, 20));
            const double scale = std::ldexp(double(k.qmax - k.qmin) / spread, s) * double(uniform(50, 200)) / 100.0;
            const auto m = static_cast<int32_t>(std::max(1.0, scale)) * (o % 3 == 2 ? -1 : 1);
            const auto b = static_cast<int32_t>(std::ldexp((k.qmin + k.qmax) / 2.0, s)) +
                           static_cast<int32_t>(uniform(-(1 << (s - 2)), 1 << (s - 2)));
            m32.push_back(m), b32.push_back(b), s32.push_back(s);
            multiplier.push_back(m), offset.push_back(int64_t{b} + (int64_t{1} << (s - 1))), shift.push_back(s);
        }
        const kernels::RequantizeTable table{multiplier.data(), offset.data(), shift.data(), k.o, k.qmin, k.qmax};

        // Expected: the loops' sums, each requantized, then the max of each 2x2 window of codes.
        at::Tensor codes = torch::empty_like(acc);
        for (int64_t i = 0; i < acc.numel(); ++i) {
            const auto o = static_cast<size_t>((i / (k.h * k.w)) % k.o);
            codes.view({-1})[i] = requantize(acc.view({-1})[i].item<int32_t>(), m32[o], b32[o], s32[o], k.qmin, k.qmax);
        }
        const at::Tensor expected = at::max_pool2d(codes.to(at::kFloat), {2, 2}, {2, 2}).to(at::kInt);
        const int64_t inside = ((expected > k.qmin) & (expected < k.qmax)).sum().item<int64_t>();
        ASSERT_GT(inside, expected.numel() / 4) << what << ": the case must exercise codes inside the range";

        const at::Tensor nhwc = pixels.to(at::kByte).permute({0, 2, 3, 1}).contiguous();
        const std::optional<kernels::FusedConvWeights> packed =
            kernels::packFusedConvWeights(weights.contiguous().data_ptr<int32_t>(), k.o, k.c, body);
        ASSERT_TRUE(packed) << what;
        const kernels::MapShape shape{k.n, k.h, k.w, k.c};
        const auto check = [&](at::ScalarType type, auto code) {
            using Code = decltype(code);
            at::Tensor out = torch::full({k.n, k.h / 2, k.w / 2, k.o}, 99, type);
            kernels::convRequantizeMaxPool(nhwc.data_ptr<uint8_t>(), shape, *packed, table, out.data_ptr<Code>());
            const at::Tensor got = out.permute({0, 3, 1, 2}).to(at::kInt);
            EXPECT_TRUE(torch::equal(got, expected)) << what << ", " << c10::toString(type) << ": "
                                                     << (got != expected).sum().item<int64_t>() << " codes differ";
        };
        if (k.qmin >= 0 && k.qmax <= 255)
            check(at::kByte, uint8_t{});
        if (k.qmin >= -128 && k.qmax <= 127)
            check(at::kChar, int8_t{});
        check(at::kShort, int16_t{});
    }
}

// The AVX2 body sums in int16, so it takes only weights whose sums fit: one weight past the
// bound (255 x 27 x 4 = 27540 fits; one 4 -> 9 makes 255 x 113 = 28815, still fits; all 5 make
// 34425, which does not) is refused, and VNNI takes any int8 weights.
TEST(IntegerCodeKernels, FusedConvPoolTakesOnlyWeightsItComputesExactly)
{
    std::vector<int32_t> weights(16 * 27, 4);
    weights[5] = 9;
    EXPECT_TRUE(kernels::packFusedConvWeights(weights.data(), 16, 3, kernels::FusedConvBody::avx2));
    std::fill(weights.begin() + 27, weights.begin() + 54, -5); // output channel 1: 255 x 27 x 5
    EXPECT_FALSE(kernels::packFusedConvWeights(weights.data(), 16, 3, kernels::FusedConvBody::avx2));
    std::fill(weights.begin(), weights.end(), -128);
    EXPECT_TRUE(kernels::packFusedConvWeights(weights.data(), 16, 3, kernels::FusedConvBody::vnni));
    EXPECT_FALSE(kernels::packFusedConvWeights(weights.data(), 16, 3, kernels::FusedConvBody::none));
}

TEST(IntegerCodeKernels, PoolUpsampleConcatAndPixelsEqualATen)
{
    torch::manual_seed(8);
    const at::Tensor codes = torch::randint(-128, 128, {2, 21, 9, 12}, torch::kInt).to(at::kChar);
    const at::Tensor nhwc = codes.permute({0, 2, 3, 1}).contiguous();
    const kernels::MapShape shape{2, 9, 12, 21};
    for (const auto& [size, stride, padding] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{2, 2, 0}, {3, 1, 1}, {3, 2, 1}, {2, 1, 0}}) {
        const at::Tensor expected = at::max_pool2d(codes.to(at::kFloat), {size, size}, {stride, stride}, {padding, padding});
        at::Tensor out = torch::empty({2, expected.size(2), expected.size(3), 21}, torch::kChar);
        kernels::maxPoolCodes(nhwc.data_ptr<int8_t>(), shape, size, stride, padding, out.data_ptr<int8_t>());
        EXPECT_TRUE(torch::equal(out.permute({0, 3, 1, 2}).to(at::kFloat), expected))
            << "max-pool size " << size << " stride " << stride << " padding " << padding;
    }
    at::Tensor up = torch::empty({2, 18, 24, 21}, torch::kChar);
    kernels::upsampleNearestRows(nhwc.data_ptr(), shape, 2, 1, up.data_ptr());
    EXPECT_TRUE(torch::equal(up.permute({0, 3, 1, 2}), codes.repeat_interleave(2, 2).repeat_interleave(2, 3)));

    const at::Tensor other = torch::randint(-128, 128, {2, 9, 12, 5}, torch::kInt).to(at::kChar);
    at::Tensor both = torch::empty({2, 9, 12, 26}, torch::kChar);
    kernels::copyChannelColumns(nhwc.data_ptr(), 2 * 9 * 12, 21, 26, 0, 1, both.data_ptr());
    kernels::copyChannelColumns(other.data_ptr(), 2 * 9 * 12, 5, 26, 21, 1, both.data_ptr());
    EXPECT_TRUE(torch::equal(both, torch::cat({nhwc, other}, 3)));

    // 37 columns: two 16-wide vector blocks and a tail; 0 and 255 included.
    at::Tensor image = torch::randint(0, 256, {2, 3, 8, 37}).to(at::kFloat);
    image[0][0][0][0] = 0.0f, image[0][1][0][1] = 255.0f;
    at::Tensor pixels = torch::empty({2, 8, 37, 3}, torch::kByte);
    const kernels::MapShape imageShape{2, 8, 37, 3};
    ASSERT_TRUE(kernels::pixelCodesChannelsLast(image.data_ptr<float>(), imageShape, pixels.data_ptr<uint8_t>()));
    EXPECT_TRUE(torch::equal(pixels, image.permute({0, 2, 3, 1}).to(at::kByte)));
    for (const float bad : {0.5f, -1.0f, 256.0f, 254.75f, std::nanf("")})
        for (const int64_t column : {5, 20, 35}) {
            at::Tensor broken = image.clone();
            broken[1][2][7][column] = bad;
            EXPECT_FALSE(kernels::pixelCodesChannelsLast(broken.data_ptr<float>(), imageShape, pixels.data_ptr<uint8_t>()))
                << "pixel value " << bad << " in column " << column;
        }
}

// ---------------------------------------------------------------------------------------------
// Whole networks

// Integer pixels: a smooth image with shapes (most like a photo) or uniform noise.
at::Tensor syntheticImage(int kind, int width = 512, int height = 288)
{
    torch::manual_seed(100 + kind);
    if (kind == 0)
        return torch::randint(0, 256, {1, 3, height, width}).to(at::kFloat);
    const at::Tensor y = torch::linspace(0, 1, height).view({1, 1, height, 1});
    const at::Tensor x = torch::linspace(0, 1, width).view({1, 1, 1, width});
    at::Tensor img = torch::cat({255 * x * y, 255 * (1 - x) * torch::ones_like(y), 127 + 120 * torch::sin(12 * x + 7 * y)}, 1);
    img.index_put_({torch::indexing::Slice(), torch::indexing::Slice(), torch::indexing::Slice(100, 180),
                    torch::indexing::Slice(200, 300)},
                   torch::tensor({30.0f, 200.0f, 90.0f}).view({1, 3, 1, 1}));
    return img.round().clamp(0, 255);
}

// Images a synthetic dataset draws (textured backgrounds, one object), as network input.
std::vector<at::Tensor> syntheticDatasetImages(const fs::path& dir)
{
    SyntheticDatasetOptions options;
    options.outDir = dir;
    options.trainCount = 0;
    options.valCount = 2;
    options.seed = 11;
    generateSyntheticDataset(options);
    std::vector<at::Tensor> images;
    for (const auto& entry : fs::recursive_directory_iterator(dir))
        if (entry.path().extension() == ".jpg")
            images.push_back(loadNetworkInput(entry.path(), 512, 288).unsqueeze(0));
    return images;
}

void expectAgreement(const AgreementReport& report, bool requireIdenticalDetections)
{
    for (const LayerAgreement& l : report.layers) {
        EXPECT_GE(l.identicalFraction(), 0.999)
            << "conv " << l.layer << ": " << (l.positions - l.identical) << " of " << l.positions << " codes differ";
        EXPECT_GE(l.isolatedFraction(), 0.999) << "conv " << l.layer;
    }
    if (!requireIdenticalDetections)
        return;
    for (const ImageAgreement& image : report.images) {
        EXPECT_TRUE(image.detectionsIdentical)
            << image.name << ": " << image.fakeDetections << " fake-quant vs " << image.integerDetections
            << " integer detections, largest box difference " << image.maxBoxDifference;
    }
}

int64_t expectedPackedBytes(const IntegerModel& model)
{
    int64_t total = 0;
    for (const IntegerConvLayer& c : model.convs)
        total += (c.weightCodes.numel() * c.weightQuantizer.bit + 7) / 8;
    return total;
}

LoadedModel referenceLsqModel()
{
    return loadModel({"", shippedQuantYaml(), test::referenceDir() / "seed" / "lsq_ckpt_92.pth"});
}

TEST(HardwareExport, ReferenceCheckpointHasTheDocumentedGraphAndSizes)
{
    TYQ_REQUIRE_REFERENCE();
    LoadedModel loaded = referenceLsqModel();
    const IntegerModel model = exportIntegerModel(*loaded.network, "lsq_ckpt_92.pth");
    ASSERT_EQ(model.convs.size(), 10u);

    // Layer 9 (the max-pool after conv 8) carries codes for conv 10 and, through route 19 and
    // upsample 20, for conv 21: conv 8 is requantized once per consumer.
    EXPECT_EQ(model.codesFor[9], (std::vector<int>{10, 21}));
    EXPECT_EQ(model.codesFor[19], (std::vector<int>{21}));
    EXPECT_EQ(model.codesFor[22], (std::vector<int>{kFloatDomain}));
    const IntegerConvLayer& conv8 = *model.conv(8);
    ASSERT_EQ(conv8.requantizations.size(), 2u);
    EXPECT_EQ(conv8.requantizations[0].consumer, 10);
    EXPECT_EQ(conv8.requantizations[1].consumer, 21);
    EXPECT_TRUE(model.conv(13)->requantizationFor(18)); // conv 13 feeds conv 18 through route 17

    // The image is 8-bit unsigned pixels with step 1; the last layer's input is 9-bit.
    EXPECT_EQ(model.conv(0)->inputBits, 8);
    EXPECT_EQ(model.conv(0)->inputStep, 1.0);
    EXPECT_EQ(model.conv(22)->inputQmax, 511);
    EXPECT_TRUE(model.conv(22)->floatOutput);
    // Layer 21 has a ReLU: its requantization clamps at code 0, as the unsigned range does anyway.
    EXPECT_EQ(model.conv(21)->requantizationFor(22)->qmin, 0);

    // The weight codes are what the fake-quantized forward uses: q * s is its effective weight.
    for (YoloNetworkImpl::ConvLayer& c : loaded.network->convLayers()) {
        const IntegerConvLayer& layer = *model.conv(c.index);
        const at::Tensor effective = c.conv->effectiveWeight().detach();
        const at::Tensor fromCodes = layer.weightCodes.to(at::kFloat) * static_cast<float>(layer.weightStep[0]);
        EXPECT_LE((effective - fromCodes).abs().max().item<double>(), 1e-6) << "conv " << c.index;
        EXPECT_LE(layer.weightCodes.abs().max().item<int>(), 3);
    }

    test::TempDir dir;
    writeIntegerModel(model, dir.path());
    const int64_t expected = expectedPackedBytes(model);
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(dir / "weights.packed")), expected);
    // 3 bits per weight; each layer starts on a byte (at most 7 padding bits per layer).
    int64_t weights = 0;
    for (const IntegerConvLayer& c : model.convs)
        weights += c.weightCodes.numel();
    EXPECT_GE(expected * 8, weights * 3);
    EXPECT_LT(expected * 8, weights * 3 + 8 * static_cast<int64_t>(model.convs.size()));
    const SizeReport sizes = integerModelSizes(model);
    EXPECT_EQ(sizes.packedWeightBytes, expected);
    EXPECT_EQ(sizes.fp32WeightBytes, 4 * weights);
    std::cout << formatSizeReport(sizes);
}

TEST(HardwareExport, ReferenceIntegerEngineAgreesWithFakeQuant)
{
    TYQ_REQUIRE_REFERENCE();
    LoadedModel loaded = referenceLsqModel();
    const IntegerEngine engine(exportIntegerModel(*loaded.network, "lsq_ckpt_92.pth"));
    // These photos are no drone images (the model's objectness stays below 0.02 on them), so
    // compare the boxes above a very low objectness threshold: several per image.
    DetectionOptions lowThreshold;
    lowThreshold.confThreshold = 1e-5f;
    AgreementReport report;
    for (const char* name : {"fruits", "baboon"})
        report.add(compareWithFakeQuant(*loaded.network, engine,
                                        loadNetworkInput(goldenDir() / (std::string(name) + ".jpg"), 512, 288).unsqueeze(0),
                                        lowThreshold, name));
    test::TempDir data;
    int k = 0;
    for (const at::Tensor& image : syntheticDatasetImages(data.path()))
        report.add(compareWithFakeQuant(*loaded.network, engine, image, lowThreshold, "synthetic dataset " + std::to_string(k++)));
    report.add(compareWithFakeQuant(*loaded.network, engine, syntheticImage(1), lowThreshold, "smooth synthetic"));
    report.add(compareWithFakeQuant(*loaded.network, engine, syntheticImage(0), lowThreshold, "noise"));
    std::cout << report.format();
    for (const ImageAgreement& image : report.images)
        std::cout << "  " << image.name << ": " << image.fakeDetections << " / " << image.integerDetections
                  << " detections, largest box difference " << image.maxBoxDifference << " px\n";
    expectAgreement(report, /*requireIdenticalDetections=*/true);
    EXPECT_GT(report.images[0].fakeDetections + report.images[1].fakeDetections, 0) << "nothing detected at all";
}

TEST(HardwareExport, ReferenceExportReadsBackIntoTheSameNetworkAndEngine)
{
    TYQ_REQUIRE_REFERENCE();
    LoadedModel loaded = referenceLsqModel();
    const IntegerModel exported = exportIntegerModel(*loaded.network, "lsq_ckpt_92.pth");
    test::TempDir dir;
    writeIntegerModel(exported, dir.path());
    ASSERT_TRUE(isIntegerModelDir(dir.path()));
    const IntegerModel read = readIntegerModel(dir.path());

    // The tables read back are the ones written.
    ASSERT_EQ(read.convs.size(), exported.convs.size());
    for (size_t k = 0; k < read.convs.size(); ++k) {
        EXPECT_TRUE(torch::equal(read.convs[k].weightCodes, exported.convs[k].weightCodes));
        ASSERT_EQ(read.convs[k].requantizations.size(), exported.convs[k].requantizations.size());
        for (size_t e = 0; e < read.convs[k].requantizations.size(); ++e) {
            EXPECT_EQ(read.convs[k].requantizations[e].multiplier, exported.convs[k].requantizations[e].multiplier);
            EXPECT_EQ(read.convs[k].requantizations[e].bias, exported.convs[k].requantizations[e].bias);
            EXPECT_EQ(read.convs[k].requantizations[e].shift, exported.convs[k].requantizations[e].shift);
        }
    }
    EXPECT_EQ(read.codesFor, exported.codesFor);

    const at::Tensor image = loadNetworkInput(goldenDir() / "fruits.jpg", 512, 288).unsqueeze(0);
    // The integer engine of the folder computes exactly what the in-memory export computes.
    const at::Tensor fromFolder = IntegerEngine(read).forward(image)[0];
    const at::Tensor inMemory = IntegerEngine(exported).forward(image)[0];
    EXPECT_TRUE(torch::equal(fromFolder, inMemory));

    // The fake-quantized network rebuilt from the folder computes what the original computes.
    YoloNetwork rebuilt = networkFromIntegerModel(read);
    torch::NoGradGuard noGrad;
    const at::Tensor original = loaded.network->detect(image);
    const at::Tensor again = rebuilt->detect(image);
    const double maxDiff = (original - again).abs().max().item<double>();
    const double within = ((original - again).abs() <= 1e-3).to(at::kDouble).mean().item<double>();
    std::cout << "  rebuilt network: " << 100 * within << " % of outputs within 1e-3, largest difference " << maxDiff << "\n";
    EXPECT_GE(within, 0.999);

    // And it is exported again to the very same tables.
    const IntegerModel twice = exportIntegerModel(*rebuilt);
    for (size_t k = 0; k < twice.convs.size(); ++k) {
        EXPECT_TRUE(torch::equal(twice.convs[k].weightCodes, exported.convs[k].weightCodes)) << k;
        for (size_t e = 0; e < twice.convs[k].requantizations.size(); ++e)
            EXPECT_EQ(twice.convs[k].requantizations[e].multiplier, exported.convs[k].requantizations[e].multiplier) << k;
    }
}

TEST(HardwareExport, DamagedExportsAreRefusedByFile)
{
    TYQ_REQUIRE_REFERENCE();
    const LoadedModel loaded = referenceLsqModel();
    const IntegerModel model = exportIntegerModel(*loaded.network);
    test::TempDir dir;
    writeIntegerModel(model, dir.path());

    { // a flipped bit in the packed file
        std::fstream f(dir / "weights.packed", std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(100);
        char byte = 0;
        f.read(&byte, 1);
        byte = static_cast<char>(byte ^ 0x10);
        f.seekp(100);
        f.write(&byte, 1);
    }
    EXPECT_NE(errorOf([&] { readIntegerModel(dir.path()); }).find("weights.packed"), std::string::npos);
    writeIntegerModel(model, dir.path()); // an existing export folder is overwritten

    // Codes outside the weight range.
    at::Tensor codes = readNpy(dir / "layer_2_weight.npy");
    codes[0][0][0][0] = 4;
    writeNpy(codes, dir / "layer_2_weight.npy");
    EXPECT_NE(errorOf([&] { readIntegerModel(dir.path()); }).find("codes outside [-3, 3]"), std::string::npos);
    writeIntegerModel(model, dir.path());

    // A requantization table of the wrong shape.
    writeNpy(torch::zeros({3, 3}, torch::kInt), dir / "layer_8_requant_to_21.npy");
    EXPECT_NE(errorOf([&] { readIntegerModel(dir.path()); }).find("layer_8_requant_to_21.npy"), std::string::npos);

    // Not an export folder.
    test::TempDir other;
    test::writeText(other / "notes.txt", "mine");
    EXPECT_NE(errorOf([&] { writeIntegerModel(model, other.path()); }).find("is not empty"), std::string::npos);
    EXPECT_NE(errorOf([&] { readIntegerModel(other.path()); }).find("manifest.json"), std::string::npos);
}

TEST(HardwareExport, DumpsNameEveryLayerInTheDocumentedDtypes)
{
    TYQ_REQUIRE_REFERENCE();
    const LoadedModel loaded = referenceLsqModel();
    const IntegerEngine engine(exportIntegerModel(*loaded.network));
    IntegerTrace trace;
    IntegerRunOptions run;
    run.trace = &trace;
    engine.forward(syntheticImage(1), run);
    std::map<std::string, at::Tensor> named;
    for (auto& [name, tensor] : traceTensors(engine.model(), trace))
        named[name] = tensor;
    ASSERT_TRUE(named.count("layer_0_in"));
    EXPECT_EQ(named["layer_0_in"].scalar_type(), at::kByte); // pixels
    EXPECT_EQ(named["layer_0_in"].sizes(), at::IntArrayRef({3, 288, 512}));
    EXPECT_EQ(named["layer_0_acc"].scalar_type(), at::kInt);
    EXPECT_EQ(named["layer_0_out_to_2"].scalar_type(), at::kChar); // 3-bit unsigned codes
    EXPECT_EQ(named["layer_1_out_to_2"].sizes(), at::IntArrayRef({16, 144, 256}));
    EXPECT_TRUE(named.count("layer_9_out_to_10") && named.count("layer_9_out_to_21"));
    EXPECT_EQ(named["layer_20_out_to_21"].sizes(), at::IntArrayRef({256, 18, 32}));
    EXPECT_EQ(named["layer_22_in"].scalar_type(), at::kShort); // 9-bit codes
    EXPECT_EQ(named["layer_22_out"].scalar_type(), at::kFloat);
    EXPECT_EQ(named["layer_22_out"].sizes(), at::IntArrayRef({51, 18, 32}));
    // A consumer's input is its producer's codes moved by the layers between.
    EXPECT_TRUE(torch::equal(named["layer_21_in"], named["layer_20_out_to_21"]));
    EXPECT_TRUE(torch::equal(named["layer_2_in"].to(at::kInt),
                             at::max_pool2d(named["layer_0_out_to_2"].to(at::kFloat).unsqueeze(0), {2, 2}, {2, 2})[0].to(at::kInt)));
}

// A tyq LSQ checkpoint: random weights, BN statistics and activation steps calibrated on an
// image (LSQ's data-driven init), saved and loaded like any checkpoint.
fs::path makeTyqLsqCheckpoint(const fs::path& dir, bool perChannel)
{
    torch::manual_seed(perChannel ? 31 : 30);
    YoloNetwork network(defaultNetworkSpec());
    network->initializeLikeReference();
    QuantConfig config = defaultQuantConfig();
    config.defaults.weight.perChannel = perChannel;
    network->quantize(config);
    {
        torch::NoGradGuard noGrad;
        for (auto& c : network->convLayers())
            if (c.batchNorm) {
                c.batchNorm->running_mean.uniform_(-0.5, 0.5);
                c.batchNorm->running_var.uniform_(0.5, 2.0);
                c.batchNorm->bias.uniform_(-0.3, 0.3);
            }
        network->eval();
        for (auto& c : network->convLayers())
            c.conv->calibrateActivationStep = true;
        network->forward(syntheticImage(1));
    }
    TrainingCheckpoint checkpoint;
    checkpoint.model = collectStateDict(*network);
    checkpoint.phase = "lsq";
    checkpoint.cfgText = defaultNetworkSpec().text;
    checkpoint.quantYaml = quantConfigToYaml(config);
    checkpoint.epoch = 1;
    checkpoint.rngState = at::detail::getDefaultCPUGenerator().get_state();
    const fs::path path = dir / (perChannel ? "lsq_per_channel.pth" : "lsq.pth");
    saveCheckpoint(checkpoint, path);
    return path;
}

TEST(HardwareExport, TyqCheckpointExportsAndAgrees)
{
    test::TempDir dir;
    for (bool perChannel : {false, true}) {
        const fs::path checkpoint = makeTyqLsqCheckpoint(dir.path(), perChannel);
        LoadedModel loaded = loadModel({"", "", checkpoint});
        ASSERT_TRUE(loaded.network->quantized());
        const IntegerModel model = exportIntegerModel(*loaded.network, checkpoint.string());
        EXPECT_EQ(model.conv(4)->weightStep.size(), perChannel ? 64u : 1u);

        const fs::path out = dir / (perChannel ? "int_pc" : "int");
        writeIntegerModel(model, out);
        EXPECT_EQ(static_cast<int64_t>(fs::file_size(out / "weights.packed")), expectedPackedBytes(model));
        const IntegerEngine engine(readIntegerModel(out));

        AgreementReport report;
        report.add(compareWithFakeQuant(*loaded.network, engine, syntheticImage(1), {}, "smooth"));
        report.add(compareWithFakeQuant(*loaded.network, engine, syntheticImage(0), {}, "noise"));
        std::cout << (perChannel ? "per-channel weights:\n" : "per-tensor weights:\n") << report.format();
        // Random weights make detections hinge on objectness ~0.5, so compare codes and outputs.
        expectAgreement(report, /*requireIdenticalDetections=*/false);
        EXPECT_LT(report.maxHeadDifference, 0.05);
        // Codes are not trivially saturated: every layer uses several codes.
        IntegerTrace trace;
        IntegerRunOptions run;
        run.trace = &trace;
        engine.forward(syntheticImage(1), run);
        for (const auto& [index, codes] : trace.convInputs)
            EXPECT_GE(std::get<0>(at::_unique(codes)).numel(), 3) << "conv " << index << " input codes";

        // The network rebuilt from the folder computes what the checkpoint computes.
        YoloNetwork rebuilt = networkFromIntegerModel(readIntegerModel(out));
        torch::NoGradGuard noGrad;
        const at::Tensor image = syntheticImage(1);
        const at::Tensor diff = (loaded.network->detect(image) - rebuilt->detect(image)).abs();
        EXPECT_GE((diff <= 1e-3).to(at::kDouble).mean().item<double>(), 0.999);
    }
}

// The fast engine (oneDNN) and the reference loops: identical input codes, accumulators and
// output codes at every position of every layer, and identical heads, on the reference
// checkpoint and on tyq LSQ checkpoints (per-tensor and per-channel weights); on photos, smooth
// and noise images, a white and a black image (codes saturated at both ends), and a batch.
TEST(HardwareExport, OneDnnEngineComputesExactlyWhatTheReferenceEngineComputes)
{
    test::TempDir dir;
    std::vector<std::pair<std::string, IntegerModel>> models;
    if (fs::exists(test::referenceDir() / "seed" / "lsq_ckpt_92.pth"))
        models.emplace_back("reference", exportIntegerModel(*referenceLsqModel().network, "lsq_ckpt_92.pth"));
    for (bool perChannel : {false, true}) {
        LoadedModel loaded = loadModel({"", "", makeTyqLsqCheckpoint(dir.path(), perChannel)});
        models.emplace_back(perChannel ? "tyq per-channel" : "tyq", exportIntegerModel(*loaded.network, "tyq"));
    }
    std::vector<std::pair<std::string, at::Tensor>> images{
        {"noise", syntheticImage(0)},
        {"smooth", syntheticImage(1)},
        {"white", torch::full({1, 3, 288, 512}, 255.0)},
        {"black", torch::zeros({1, 3, 288, 512})},
        {"batch", at::cat({syntheticImage(1), syntheticImage(0)}, 0)},
        {"608x224", syntheticImage(0, 608, 224)}, // another size and aspect
    };
    if (fs::exists(goldenDir() / "fruits.jpg"))
        images.emplace_back("fruits", loadNetworkInput(goldenDir() / "fruits.jpg", 512, 288).unsqueeze(0));

    for (auto& [modelName, model] : models) {
        const IntegerEngine reference(model, IntegerConvKernel::reference);
        const IntegerEngine fast(model, IntegerConvKernel::onednn);
        std::cout << modelName << ": " << fast.kernelDescription() << "\n";
        for (const auto& [imageName, image] : images) {
            const std::string what = modelName + ", " + imageName;
            IntegerTrace a, b;
            IntegerRunOptions runA, runB;
            runA.trace = &a;
            runB.trace = &b;
            const std::vector<at::Tensor> headsA = reference.forward(image, runA);
            const std::vector<at::Tensor> headsB = fast.forward(image, runB);
            const std::vector<at::Tensor> untraced = fast.forward(image); // the path detect and eval take
            ASSERT_EQ(headsA.size(), headsB.size());
            ASSERT_EQ(headsA.size(), untraced.size());
            for (size_t k = 0; k < headsA.size(); ++k) {
                EXPECT_TRUE(torch::equal(headsA[k], headsB[k])) << what << ": head " << k;
                EXPECT_TRUE(torch::equal(headsA[k], untraced[k])) << what << ": head " << k << " without a trace";
            }
            EXPECT_EQ(a.requantStats.size(), b.requantStats.size()) << what;
            ASSERT_EQ(a.convInputs.size(), b.convInputs.size());
            for (const auto& [conv, codes] : a.convInputs) {
                EXPECT_TRUE(torch::equal(codes, b.convInputs.at(conv))) << what << ": conv " << conv << " input codes";
                EXPECT_TRUE(torch::equal(a.accumulators.at(conv), b.accumulators.at(conv)))
                    << what << ": conv " << conv << " accumulators";
            }
            ASSERT_EQ(a.outputs.size(), b.outputs.size());
            for (const auto& [key, value] : a.outputs)
                EXPECT_TRUE(torch::equal(value, b.outputs.at(key)))
                    << what << ": layer " << key.first << " output for " << key.second;
        }
    }
}

TEST(HardwareExport, RefusesWhatHasNoIntegerForm)
{
    YoloNetwork fp(defaultNetworkSpec());
    EXPECT_NE(errorOf([&] { exportIntegerModel(*fp, "fp.pth"); }).find("full-precision model"), std::string::npos);

    // A layer left in full precision (bit 0 weights).
    QuantConfig config = defaultQuantConfig();
    LayerQuantOverride o;
    o.weight.bit = 0;
    config.setOverride("module_list.10.conv_10", o);
    YoloNetwork partly(defaultNetworkSpec());
    partly->quantize(config);
    EXPECT_NE(errorOf([&] { exportIntegerModel(*partly); }).find("module_list.10.conv_10: weights are not quantized"),
              std::string::npos);

    // An unquantized input that is not the image.
    QuantConfig floatInput = defaultQuantConfig();
    LayerQuantOverride a;
    a.act.bit = 0;
    floatInput.setOverride("module_list.13.conv_13", a);
    YoloNetwork withFloatInput(defaultNetworkSpec());
    withFloatInput->quantize(floatInput);
    EXPECT_NE(errorOf([&] { exportIntegerModel(*withFloatInput); }).find("module_list.13.conv_13: its input activation is not quantized"),
              std::string::npos);
}

} // namespace
} // namespace tyq
