// bf16 mixed precision (model/precision.h) against fp32: one convolution's forward and
// gradients (the weight gradient's f32 sums exact to f32 rounding) on the shapes where oneDNN
// 2.6.3's AMX weight-gradient kernel or its AVX512_BF16 input-gradient kernel fails, a training
// step of the network (fp and LSQ), the inference engine, a short seeded training run, and the
// option's parsing. Skipped where the CPU has no AVX-512 (LibTorch runs no bf16 convolution there).
#include "test_support.h"
#include "training_support.h"

#include "common/error.h"
#include "infer/inference_engine.h"
#include "model/bf16_convolution.h"
#include "model/precision.h"
#include "model/yolo_head.h"
#include "model/yolo_network.h"
#include "quant/quant_config.h"
#include "train/option_table.h"
#include "train/trainer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

namespace tyq {
namespace bf16_test {

#define SKIP_WITHOUT_BF16()                                                                                            \
    do {                                                                                                               \
        std::string why;                                                                                               \
        if (!precisionSupported(Precision::bf16, &why))                                                                \
            GTEST_SKIP() << why;                                                                                       \
    } while (false)

double relativeError(const at::Tensor& got, const at::Tensor& expected)
{
    return (got.to(at::kDouble) - expected.to(at::kDouble)).norm().item<double>() /
           expected.to(at::kDouble).norm().item<double>();
}

TEST(Bf16, ConvolutionAndItsGradientsFollowF32OnWideMaps)
{
    SKIP_WITHOUT_BF16();
    // conv 0 and conv 2 of the network at 512x288, where AMX bf16 weight gradients broke
    // unbanded; a width that leaves a partial band; a wide 1x1; a strided one; a head; the
    // heads' 1x1 convs to 51 channels at sizes where the non-AMX bf16 input gradient broke.
    struct Shape {
        int64_t in, out, height, width, kernel = 3, stride = 1;
    };
    for (const Shape s : {Shape{3, 16, 288, 512}, Shape{16, 32, 144, 256}, Shape{16, 32, 8, 300},
                          Shape{32, 16, 20, 520, 1}, Shape{16, 32, 30, 515, 3, 2}, Shape{256, 128, 9, 16},
                          Shape{192, 51, 6, 10, 1}, Shape{256, 51, 3, 10, 1}, Shape{192, 51, 18, 32, 1}}) {
        at::manual_seed(1);
        const at::Tensor x0 = at::randn({2, s.in, s.height, s.width}).contiguous(at::MemoryFormat::ChannelsLast);
        const at::Tensor w0 = at::randn({s.out, s.in, s.kernel, s.kernel}) * 0.1;
        const at::Tensor bias0 = at::randn({s.out});
        const int64_t padding = s.kernel / 2;
        const at::Tensor upstream = at::randn(
            {2, s.out, (s.height + 2 * padding - s.kernel) / s.stride + 1, (s.width + 2 * padding - s.kernel) / s.stride + 1});
        auto run = [&](bool bf16) {
            const at::Tensor x = x0.clone().requires_grad_(true);
            const at::Tensor w = w0.clone().requires_grad_(true);
            const at::Tensor bias = bias0.clone().requires_grad_(true);
            const at::Tensor y = bf16 ? convolveBf16(x, w, bias, s.stride, padding)
                                      : at::conv2d(x, w, bias, {s.stride, s.stride}, {padding, padding});
            y.backward(upstream.to(y.scalar_type()));
            return std::vector<at::Tensor>{y.to(at::kFloat), x.grad(), w.grad(), bias.grad()};
        };
        const std::vector<at::Tensor> f32 = run(false);
        const std::vector<at::Tensor> bf16 = run(true);
        const char* names[] = {"output", "input gradient", "weight gradient", "bias gradient"};
        for (size_t i = 0; i < f32.size(); ++i) {
            ASSERT_EQ(bf16[i].scalar_type(), i == 0 ? at::kFloat : f32[i].scalar_type());
            ASSERT_TRUE(at::isfinite(bf16[i]).all().item<bool>()) << names[i];
            // bf16 rounds each input to 8 significant bits (relative 2^-9); the sums average
            // that out to well under 1 %.
            EXPECT_LE(relativeError(bf16[i], f32[i]), 1e-2) << names[i] << " of " << s.in << " -> " << s.out << " at "
                                                            << s.height << "x" << s.width << ", kernel " << s.kernel
                                                            << ", stride " << s.stride;
        }
        // The weight gradient is the f32 sum of the bf16-rounded inputs' products, not rounded to
        // bf16 itself (ATen's bf16 call would round it: relative error about 1e-3), so the f32
        // master weights take it as fp32 training would.
        const at::Tensor exact = std::get<1>(at::convolution_backward(
            upstream.to(at::kBFloat16).to(at::kDouble), x0.to(at::kBFloat16).to(at::kDouble).contiguous(),
            w0.to(at::kDouble), c10::nullopt, {s.stride, s.stride}, {padding, padding}, {1, 1}, false, {0, 0}, 1,
            {false, true, false}));
        EXPECT_LE(relativeError(bf16[2], exact), 1e-5) << "weight gradient of " << s.in << " -> " << s.out << " at "
                                                       << s.height << "x" << s.width << ", kernel " << s.kernel
                                                       << ", stride " << s.stride;
        // The input gradient is those sums' other contraction, rounded once to bf16 (relative
        // 2^-9 at most per value; in f32 for the heads).
        const at::Tensor exactInput = std::get<0>(at::convolution_backward(
            upstream.to(at::kBFloat16).to(at::kDouble), x0.to(at::kDouble).contiguous(),
            w0.to(at::kBFloat16).to(at::kDouble), c10::nullopt, {s.stride, s.stride}, {padding, padding}, {1, 1},
            false, {0, 0}, 1, {true, false, false}));
        EXPECT_LE(relativeError(bf16[1], exactInput), 2e-3) << "input gradient of " << s.in << " -> " << s.out
                                                            << " at " << s.height << "x" << s.width << ", kernel "
                                                            << s.kernel << ", stride " << s.stride;
    }
}

YoloNetwork seededNetwork(bool lsq, const at::Tensor& calibration)
{
    at::manual_seed(11);
    YoloNetwork net(defaultNetworkSpec());
    net->initializeLikeReference();
    {
        at::NoGradGuard noGrad;
        for (auto& c : net->convLayers()) {
            const at::Tensor& w = c.conv->weight;
            w.normal_(0.0, std::sqrt(2.0 / static_cast<double>(w.size(1) * w.size(2) * w.size(3))) *
                               (c.batchNorm ? 1.0 : 0.1));
        }
        net->convLayers().front().conv->weight.mul_(1.0 / 255.0);
    }
    if (lsq) {
        net->quantize(defaultQuantConfig());
        net->calibrateActivationSteps(calibration, StepCalibration::lsqInit);
    }
    return net;
}

at::Tensor seededImages(int64_t n, int64_t height, int64_t width, uint64_t seed)
{
    at::manual_seed(static_cast<int64_t>(seed));
    return at::rand({n, 3, height, width}) * 255;
}

void expectTrainingStepFollowsF32(bool lsq)
{
    const at::Tensor input = seededImages(4, 96, 160, 2);
    const at::Tensor targets = at::tensor(std::vector<float>{0, 1, 0.5f, 0.5f, 0.2f, 0.3f, 1, 4, 0.3f, 0.6f, 0.1f, 0.15f,
                                                             2, 7, 0.7f, 0.4f, 0.3f, 0.2f, 3, 11, 0.2f, 0.2f, 0.1f, 0.1f})
                                   .view({4, 6});
    auto step = [&](Precision precision) {
        YoloNetwork net = seededNetwork(lsq, input);
        net->setExecution(NetworkExecution::forTraining(precision));
        net->train();
        const std::vector<at::Tensor> heads = net->forward(input);
        const std::vector<int> yolo = net->spec().yoloIndices();
        at::Tensor total;
        for (size_t k = 0; k < heads.size(); ++k) {
            EXPECT_EQ(heads[k].scalar_type(), at::kFloat) << "the heads (and the loss) are f32";
            const YoloLoss loss = yoloLoss(heads[k], net->spec().layers[static_cast<size_t>(yolo[k])].yolo(), targets,
                                           input.size(2));
            total = total.defined() ? total + loss.total : loss.total;
        }
        total.backward();
        return std::make_pair(total.item<double>(), net);
    };
    const auto [lossF32, f32] = step(Precision::fp32);
    const auto [lossBf16, bf16] = step(Precision::bf16);
    EXPECT_NEAR(lossBf16, lossF32, 0.02 * std::abs(lossF32));
    const auto a = f32->named_parameters();
    const auto b = bf16->named_parameters();
    ASSERT_EQ(a.size(), b.size());
    // The direction an optimizer follows, over all weights (conv and batch norm) together:
    // bf16 rounding (about 0.4 % per value), magnified where batch norm's backward cancels most
    // of a gradient, moves single layers' gradients by more (measured: cosines 0.86 to 0.98 per
    // layer in fp), and with LSQ some 3-bit roundings flip, so the scalar step-size gradients
    // (sums of terms of both signs) are not compared one by one.
    double dot = 0, normF32 = 0, normBf16 = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const at::Tensor& g = a[i].value().grad();
        const at::Tensor& h = b[i].value().grad();
        if (!g.defined() && !h.defined())
            continue; // the image input's disabled quantizer
        ASSERT_TRUE(g.defined() && h.defined()) << a[i].key();
        // Master weights and their gradients stay f32.
        EXPECT_EQ(b[i].value().scalar_type(), at::kFloat) << b[i].key();
        ASSERT_EQ(h.scalar_type(), at::kFloat) << b[i].key();
        ASSERT_TRUE(at::isfinite(h).all().item<bool>()) << b[i].key();
        if (a[i].key().find("quan_") != std::string::npos)
            continue;
        dot += (g.to(at::kDouble) * h.to(at::kDouble)).sum().item<double>();
        normF32 += g.to(at::kDouble).square().sum().item<double>();
        normBf16 += h.to(at::kDouble).square().sum().item<double>();
    }
    const double cosine = dot / std::sqrt(normF32 * normBf16);
    std::printf("bf16 vs f32 %s training step: loss %.5f vs %.5f, weight-gradient cosine %.5f, norm ratio %.4f\n",
                lsq ? "LSQ" : "fp", lossBf16, lossF32, cosine, std::sqrt(normBf16 / normF32));
    EXPECT_NEAR(std::sqrt(normBf16 / normF32), 1.0, 0.1);
    // fp: 0.93 measured. LSQ: 0.35, since the flipped codes change which cells the loss
    // rewards; SeededTrainingRun... checks that the LSQ loss curve still follows f32's.
    if (!lsq) {
        EXPECT_GE(cosine, 0.85);
    }
}

TEST(Bf16, TrainingStepFollowsF32InFullPrecision)
{
    SKIP_WITHOUT_BF16();
    expectTrainingStepFollowsF32(false);
}

TEST(Bf16, TrainingStepFollowsF32WithLsq)
{
    SKIP_WITHOUT_BF16();
    expectTrainingStepFollowsF32(true);
}

TEST(Bf16, InferenceEngineFollowsF32AndRefusesQuantizedNetworks)
{
    SKIP_WITHOUT_BF16();
    const at::Tensor input = seededImages(2, 288, 512, 3);
    YoloNetwork net = seededNetwork(false, input);
    {
        // Batch norms that are not the identity, so folding them into bf16 weights is exercised.
        at::NoGradGuard noGrad;
        for (auto& c : net->convLayers())
            if (c.batchNorm) {
                c.batchNorm->running_var.uniform_(0.5, 2.0);
                c.batchNorm->running_mean.uniform_(-0.2, 0.2);
            }
    }
    net->eval();
    const at::Tensor f32 = InferenceEngine(*net).detect(input);
    const at::Tensor bf16 = InferenceEngine(*net, InferenceOptions().setPrecision(Precision::bf16)).detect(input);
    ASSERT_EQ(bf16.sizes(), f32.sizes());
    ASSERT_EQ(bf16.scalar_type(), at::kFloat);
    // Boxes (pixels) and scores (0..1) of every row.
    EXPECT_LE(relativeError(bf16.narrow(2, 0, 4), f32.narrow(2, 0, 4)), 1e-2);
    EXPECT_LE((bf16.narrow(2, 4, bf16.size(2) - 4) - f32.narrow(2, 4, f32.size(2) - 4)).abs().max().item<double>(), 0.05);

    YoloNetwork lsq = seededNetwork(true, input);
    lsq->eval();
    try {
        InferenceEngine engine(*lsq, InferenceOptions().setPrecision(Precision::bf16));
        FAIL() << "a quantized network was run in bf16";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("integer form"), std::string::npos) << e.what();
    }
}

TEST(Bf16, SeededTrainingRunFollowsF32AndRecordsItsPrecision)
{
    SKIP_WITHOUT_BF16();
    test::TempDir dir;
    const std::filesystem::path dataFile = test::syntheticDataFile(dir.path(), 8, 4, 5);
    const std::filesystem::path quant = std::filesystem::path(TYQ_SOURCE_DIR) / "config" / "lsq-3bit.yaml";
    auto run = [&](Precision precision, bool lsq) {
        TrainingJob job;
        job.runDir = dir / (std::string(lsq ? "lsq-" : "fp-") + precisionName(precision));
        job.sources.dataFile = dataFile;
        if (lsq) { // both from the fp32 run's weights
            job.sources.quantFile = quant;
            job.sources.initWeights = dir / "fp-fp32" / "checkpoints" / "last.ckpt";
        }
        job.options.set_epochs(2).set_batchSize(4).set_gradientAccumulation(1).set_inputWidth(160).set_inputHeight(96);
        job.options.set_evalInterval(2).set_checkpointInterval(1000).set_seed(3).set_precision(precision);
        test::LossRecorder recorder;
        const RunSummary summary = Trainer(job, &recorder).run();
        EXPECT_EQ(summary.outcome, RunOutcome::finished) << summary.message;
        return recorder.losses;
    };
    for (const bool lsq : {false, true}) {
        const std::vector<double> f32 = run(Precision::fp32, lsq);
        const std::vector<double> bf16 = run(Precision::bf16, lsq);
        ASSERT_EQ(f32.size(), 4u);
        ASSERT_EQ(bf16.size(), f32.size());
        for (size_t i = 0; i < f32.size(); ++i) {
            std::printf("%s batch %zu: loss %.5f bf16, %.5f f32\n", lsq ? "LSQ" : "fp", i, bf16[i], f32[i]);
            EXPECT_NEAR(bf16[i], f32[i], 0.02 * std::abs(f32[i])) << (lsq ? "LSQ" : "fp") << " batch " << i;
        }
    }
    // The run says how it was trained, and resumes that way.
    EXPECT_EQ(loadTrainOptions(dir / "fp-bf16" / "options.yaml").precision, Precision::bf16);
    EXPECT_EQ(loadTrainOptions(dir / "fp-fp32" / "options.yaml").precision, Precision::fp32);
}

TEST(Bf16, PrecisionIsAnOptionWithAClearErrorForUnknownWords)
{
    TrainOptions options;
    options.set_precision(Precision::bf16);
    EXPECT_EQ(parseTrainOptionsYaml(trainOptionsToYaml(options), "options.yaml").precision, Precision::bf16);
    try {
        parseTrainOptionsYaml("precision: fp16\n", "run/options.yaml");
        FAIL() << "fp16 was accepted";
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("run/options.yaml"), std::string::npos) << message;
        EXPECT_NE(message.find("fp16"), std::string::npos) << message;
        EXPECT_NE(message.find("bf16"), std::string::npos) << message;
    }
    EXPECT_EQ(parsePrecision("bf16"), Precision::bf16);
    EXPECT_THROW(parsePrecision("half"), Error);
}

#undef SKIP_WITHOUT_BF16

} // namespace bf16_test
} // namespace tyq
