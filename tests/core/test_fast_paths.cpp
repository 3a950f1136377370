// The fast paths against the straightforward reference: the inference engine (fp and LSQ, at
// 512x288 and a small size), the fused conv + BN + pool kernel against ATen ops, a training
// step's gradients with NetworkExecution::fast() vs reference(), and a short seeded training
// run's loss curve on both paths.
#include "test_support.h"
#include "training_support.h"

#include "infer/inference_engine.h"
#include "kernels/conv_pool_kernel.h"
#include "kernels/max_pool_kernel.h"
#include "model/fast_ops.h"
#include "model/yolo_head.h"
#include "model/yolo_network.h"
#include "quant/quant_config.h"
#include "train/trainer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace tyq {
namespace {

// A seeded random network that behaves like a trained one numerically: He-initialized convs
// (activations stay O(1)), batch norms that are not the identity (folding is exercised), a small
// head (decoded boxes stay in pixel range). LSQ nets get data-driven activation steps, so the
// 3-bit quantizers see values across their range.
YoloNetwork randomNetwork(bool lsq, uint64_t seed, const at::Tensor& calibration)
{
    at::manual_seed(static_cast<int64_t>(seed));
    YoloNetwork net(defaultNetworkSpec());
    {
        at::NoGradGuard noGrad;
        for (auto& c : net->convLayers()) {
            const at::Tensor& w = c.conv->weight;
            const double fanIn = static_cast<double>(w.size(1) * w.size(2) * w.size(3));
            w.normal_(0.0, std::sqrt(2.0 / fanIn) * (c.batchNorm ? 1.0 : 0.1));
            if (c.batchNorm) {
                c.batchNorm->running_mean.uniform_(-0.2, 0.2);
                c.batchNorm->running_var.uniform_(0.5, 2.0);
                c.batchNorm->weight.uniform_(0.5, 1.5);
                c.batchNorm->bias.normal_(0.0, 0.1);
            }
        }
        net->convLayers().front().conv->weight.mul_(1.0 / 255.0); // inputs are 0..255
    }
    if (lsq) {
        net->quantize(defaultQuantConfig());
        at::NoGradGuard noGrad;
        for (auto& c : net->convLayers())
            c.conv->calibrateActivationStep = true;
        net->eval();
        net->forward(calibration);
    }
    net->eval();
    return net;
}

at::Tensor images(int64_t n, int64_t height, int64_t width, uint64_t seed)
{
    at::manual_seed(static_cast<int64_t>(seed));
    return at::rand({n, 3, height, width}) * 255;
}

struct Agreement {
    double maxAbs = 0;
    double fractionWithin = 0;
};

Agreement agreement(const at::Tensor& got, const at::Tensor& expected, double tolerance)
{
    const at::Tensor diff = (got.to(at::kDouble) - expected.to(at::kDouble)).abs();
    return {diff.max().item<double>(), (diff <= tolerance).to(at::kDouble).mean().item<double>()};
}

std::vector<std::pair<std::string, InferenceOptions>> engineVariants()
{
    return {{"default", InferenceOptions()},
            {"no fused stages", InferenceOptions().setFuseStages(false)},
            {"NCHW", InferenceOptions().setChannelsLast(false)},
            {"no folding", InferenceOptions().setFoldBatchNorm(false)}};
}

TEST(FastPaths, EngineMatchesTheReferenceForwardInFullPrecision)
{
    const at::Tensor calibration = images(2, 96, 160, 1);
    YoloNetwork net = randomNetwork(false, 3, calibration);
    at::NoGradGuard noGrad;
    for (const at::Tensor& input : {images(1, 288, 512, 2), images(2, 96, 160, 3)}) {
        const at::Tensor expected = net->detect(input);
        for (const auto& [name, options] : engineVariants()) {
            const InferenceEngine engine(*net, options);
            const at::Tensor got = engine.detect(input);
            ASSERT_EQ(got.sizes(), expected.sizes()) << name;
            const Agreement a = agreement(got, expected, 1e-3);
            EXPECT_LE(a.maxAbs, 1e-3) << name << " at " << input.sizes();
        }
    }
    // The default engine really takes the fused path for the first two stages (when the CPU has it).
    if (kernels::convPoolKernelAvailable(16)) {
        EXPECT_EQ(InferenceEngine(*net).fusedConvs(), (std::vector<int>{0, 2}));
    }
}

TEST(FastPaths, EngineMatchesTheReferenceForwardWithLsq)
{
    const at::Tensor calibration = images(2, 96, 160, 4);
    YoloNetwork net = randomNetwork(true, 5, calibration);
    at::NoGradGuard noGrad;
    for (const at::Tensor& input : {images(1, 288, 512, 6), images(2, 96, 160, 7)}) {
        const at::Tensor expected = net->detect(input);
        for (const auto& [name, options] : engineVariants()) {
            const InferenceEngine engine(*net, options);
            const Agreement a = agreement(engine.detect(input), expected, 1e-3);
            // One ulp can flip a 3-bit rounding and move what follows: most entries must agree.
            EXPECT_GE(a.fractionWithin, 0.995) << name << " at " << input.sizes() << " (largest difference "
                                               << a.maxAbs << ")";
        }
    }
}

// The reference bit-widths leave the image unquantized; the editor and the search may quantize
// it. The fused first stage then quantized nothing (found by the search's sensitivity table:
// conv_0's input at 2 bits cost no mAP at all).
TEST(FastPaths, EngineQuantizesTheImageWhenTheFirstConvAsksForIt)
{
    const at::Tensor calibration = images(2, 96, 160, 8);
    YoloNetwork net = randomNetwork(false, 9, calibration);
    QuantConfig config = defaultQuantConfig();
    LayerQuantOverride first = *config.overrideFor("module_list.0.conv_0");
    first.act.bit = 2;
    config.setOverride("module_list.0.conv_0", first);
    net->quantize(config);
    net->calibrateActivationSteps(calibration, StepCalibration::minimumError);
    at::NoGradGuard noGrad;
    const at::Tensor input = images(2, 96, 160, 10);
    const at::Tensor expected = net->detect(input);
    for (const auto& [name, options] : engineVariants()) {
        const Agreement a = agreement(InferenceEngine(*net, options).detect(input), expected, 1e-3);
        EXPECT_GE(a.fractionWithin, 0.995) << name << " (largest difference " << a.maxAbs << ")";
    }
}

// conv (no bias) -> affine -> activation -> 2x2 max-pool -> quantizer, op by op.
at::Tensor convPoolReference(const at::Tensor& x, const at::Tensor& w, const at::Tensor& scale, const at::Tensor& shift,
                             kernels::KernelActivation activation, float step, float qmin, float qmax)
{
    at::Tensor y = at::conv2d(x, w, {}, 1, 1);
    y = scale.defined() ? y * scale.view({1, -1, 1, 1}) + shift.view({1, -1, 1, 1}) : y + shift.view({1, -1, 1, 1});
    if (activation == kernels::KernelActivation::relu)
        y = at::relu(y);
    else if (activation == kernels::KernelActivation::leaky)
        y = at::leaky_relu(y, 0.1);
    y = at::max_pool2d(y, {2, 2}, {2, 2});
    if (step > 0)
        y = at::round(at::clamp(y / step, qmin, qmax)) * step;
    return y;
}

// The channels-last training batch norm (fast and bf16 training) against LibTorch's module:
// output, the gradients of x, weight and bias, and the running statistics it leaves, in f32
// and bf16, on maps whose mean is far from zero (the shifted sums' case), with one channel
// block and a tail.
// A batch norm in training mode with seeded parameters and running statistics.
torch::nn::BatchNorm2d seededBatchNorm(int64_t channels)
{
    torch::nn::BatchNorm2d bn(torch::nn::BatchNorm2dOptions(channels).eps(1e-5).momentum(0.9));
    at::manual_seed(3);
    {
        at::NoGradGuard noGrad;
        bn->weight.uniform_(0.5, 1.5);
        bn->bias.uniform_(-0.5, 0.5);
        bn->running_mean.uniform_(-1, 1);
        bn->running_var.uniform_(0.5, 2);
    }
    bn->train();
    return bn;
}

TEST(FastPaths, ChannelsLastBatchNormMatchesTheModule)
{
    struct Case {
        int64_t n, c, h, w;
        at::ScalarType type;
        double mean;
    };
    for (const Case& k : std::vector<Case>{{2, 16, 9, 11, at::kFloat, 0.0}, {4, 19, 6, 7, at::kFloat, 300.0},
                                           {2, 32, 8, 8, at::kBFloat16, 0.0}, {3, 5, 10, 6, at::kBFloat16, 40.0}}) {
        at::manual_seed(9);
        const at::Tensor x0 = (at::randn({k.n, k.c, k.h, k.w}) * 2 + k.mean).to(k.type).contiguous(at::MemoryFormat::ChannelsLast);
        const at::Tensor upstream = at::randn({k.n, k.c, k.h, k.w}).to(k.type);
        auto run = [&](bool kernel) {
            torch::nn::BatchNorm2d bn = seededBatchNorm(k.c);
            const at::Tensor x = x0.clone().requires_grad_(true);
            const at::Tensor y = kernel ? batchNormChannelsLast(*bn, x) : bn(x);
            y.backward(upstream);
            return std::vector<at::Tensor>{y.to(at::kFloat), x.grad().to(at::kFloat), bn->weight.grad(), bn->bias.grad(),
                                           bn->running_mean, bn->running_var, bn->num_batches_tracked.to(at::kFloat)};
        };
        ASSERT_TRUE(batchNormChannelsLastFits(x0));
        const std::vector<at::Tensor> got = run(true), expected = run(false);
        const char* names[] = {"output", "input gradient", "weight gradient", "bias gradient", "running mean",
                               "running variance", "batches tracked"};
        // bf16 outputs differ by a rounding of a value computed in another order (2^-8 relative);
        // gradients are sums over the map, so bounded relative to their norm.
        const double tolerance = k.type == at::kFloat ? 2e-5 : 1.6e-2;
        for (size_t i = 0; i < got.size(); ++i) {
            const double error = (got[i] - expected[i]).abs().max().item<double>() /
                                 std::max(1e-6, expected[i].abs().max().item<double>());
            EXPECT_LE(error, tolerance) << names[i] << ", " << c10::toString(k.type) << " " << c10::str(x0.sizes())
                                        << " mean " << k.mean;
        }
        EXPECT_EQ(got[0].sizes(), expected[0].sizes());
    }
}

// Batch norm and the 2x2 max-pool after it in fused passes (fast and bf16 training, AVX-512)
// against the two ops one after the other: the same pooled values, bit for bit, and so the same
// picks, also where the normalized map ties (inputs on a coarse grid) and on odd sizes (a row and
// a column in no window); the same running statistics; gradients equal up to the order of the
// sums' terms (bf16 input gradients up to one rounding of the map's type).
TEST(FastPaths, FusedBatchNormMaxPoolMatchesBatchNormThenPool)
{
    struct Case {
        int64_t n, c, h, w;
        at::ScalarType type;
    };
    int checked = 0;
    for (const Case& k : std::vector<Case>{{2, 16, 6, 8, at::kFloat}, {1, 32, 7, 9, at::kFloat},
                                           {2, 32, 5, 6, at::kBFloat16}, {3, 16, 8, 3, at::kBFloat16},
                                           {1, 16, 2, 2, at::kFloat}}) {
        at::manual_seed(11);
        const at::Tensor x0 = (at::randint(-6, 7, {k.n, k.c, k.h, k.w}).to(at::kFloat) * 0.5 + 1) // many ties
                                  .to(k.type)
                                  .contiguous(at::MemoryFormat::ChannelsLast);
        if (!batchNormMaxPool2x2Fits(x0))
            continue; // no AVX-512 here: the network composes the two ops instead
        const at::Tensor upstream = at::randn({k.n, k.c, k.h / 2, k.w / 2}).to(k.type);
        auto run = [&](bool fused) {
            torch::nn::BatchNorm2d bn = seededBatchNorm(k.c);
            const at::Tensor x = x0.clone().requires_grad_(true);
            const at::Tensor y = fused ? batchNormMaxPool2x2(*bn, x) : maxPool2x2(batchNormChannelsLast(*bn, x));
            y.backward(upstream);
            return std::vector<at::Tensor>{y.to(at::kFloat), x.grad().to(at::kFloat), bn->weight.grad(), bn->bias.grad(),
                                           bn->running_mean, bn->running_var, bn->num_batches_tracked.to(at::kFloat)};
        };
        const std::vector<at::Tensor> got = run(true), expected = run(false);
        const std::string where = std::string(c10::toString(k.type)) + " " + c10::str(x0.sizes());
        EXPECT_TRUE(got[0].is_contiguous(at::MemoryFormat::ChannelsLast)) << where;
        EXPECT_TRUE(at::equal(got[0], expected[0])) << "pooled output, " << where;
        for (size_t i : {4, 5, 6})
            EXPECT_TRUE(at::equal(got[i], expected[i])) << "running statistics " << i << ", " << where;
        const char* names[] = {"", "input gradient", "weight gradient", "bias gradient"};
        const double tolerance = k.type == at::kFloat ? 1e-5 : 8e-3;
        for (size_t i = 1; i < 4; ++i) {
            const double error = (got[i] - expected[i]).abs().max().item<double>() /
                                 std::max(1e-6, expected[i].abs().max().item<double>());
            EXPECT_LE(error, tolerance) << names[i] << ", " << where;
        }
        // The gradient reaches the picks only, and elsewhere dx = x b + d: a pick moved would
        // show as a gradient at a position the reference leaves at that affine value.
        EXPECT_EQ(((got[1] - expected[1]).abs() > 0.25 * expected[1].abs().max()).sum().item<int64_t>(), 0) << where;
        ++checked;
    }
    if (checked == 0)
        GTEST_SKIP() << "the fused batch norm + max-pool kernels need AVX-512 (F, BW, VL): cpuIsa() is below it here";
}

// The channels-last 2x2 max-pool (fast and bf16 training) against ATen's: values and
// gradients, float and bf16, odd sizes (a dropped row and column), ties (3-bit-like codes: the
// first maximum wins), NaN (the last wins), one and two 16-channel blocks.
TEST(FastPaths, ChannelsLastMaxPoolMatchesATenWithGradients)
{
    struct Case {
        int64_t n, c, h, w;
        at::ScalarType type;
    };
    int checked = 0;
    for (const Case& k : std::vector<Case>{{2, 16, 6, 8, at::kFloat}, {1, 32, 7, 9, at::kFloat}, {1, 8, 5, 4, at::kFloat},
                                           {2, 32, 5, 6, at::kBFloat16}, {1, 16, 4, 3, at::kBFloat16}}) {
        at::manual_seed(5);
        at::Tensor x0 = at::randint(0, 4, {k.n, k.c, k.h, k.w}).to(at::kFloat) * 0.25; // many ties
        x0[0][0][0][1] = std::nanf("");
        x0[0][k.c - 1][1][0] = std::nanf(""), x0[0][k.c - 1][1][1] = std::nanf("");
        x0 = x0.to(k.type).contiguous(at::MemoryFormat::ChannelsLast);
        if (!kernels::maxPool2x2ChannelsLastFits(x0))
            continue; // bf16 needs AVX-512 BW/VL (the pool then goes to ATen)
        ++checked;
        const at::Tensor upstream = at::randn({k.n, k.c, k.h / 2, k.w / 2}).to(k.type);
        auto run = [&](bool kernel) {
            const at::Tensor x = x0.clone().requires_grad_(true);
            const at::Tensor y = kernel ? maxPool2x2(x) : at::max_pool2d(x, {2, 2}, {2, 2});
            y.backward(upstream);
            return std::make_pair(y, x.grad());
        };
        const auto [y, dx] = run(true);
        const auto [yATen, dxATen] = run(false);
        const std::string what = c10::toString(k.type) + std::string(" ") + c10::str(x0.sizes());
        EXPECT_TRUE(y.is_contiguous(at::MemoryFormat::ChannelsLast)) << what;
        EXPECT_EQ(y.scalar_type(), k.type) << what;
        EXPECT_TRUE(at::equal(at::isnan(y), at::isnan(yATen))) << what << ": NaN outputs";
        EXPECT_TRUE(at::equal(at::nan_to_num(y.to(at::kFloat), -99), at::nan_to_num(yATen.to(at::kFloat), -99)))
            << what << ": values";
        EXPECT_TRUE(at::equal(dx.to(at::kFloat), dxATen.to(at::kFloat))) << what << ": gradients (the same picks)";
    }
    if (checked == 0)
        GTEST_SKIP() << "no AVX2 here: channels-last pools go to ATen";
}

TEST(FastPaths, ConvPoolKernelMatchesConvAffinePoolQuantizeOpByOp)
{
    if (!kernels::convPoolKernelAvailable(16))
        GTEST_SKIP() << "no AVX2/AVX-512 here: the engine uses ATen ops instead of the fused kernel";
    struct Case {
        int64_t cin, cout, height, width;
        bool channelsLast, withScale;
        kernels::KernelActivation activation;
        float step;
    };
    const std::vector<Case> cases = {
        {3, 16, 20, 28, false, false, kernels::KernelActivation::linear, 0},  // pooled width 14: column tails
        {3, 16, 8, 10, true, true, kernels::KernelActivation::relu, 0.25f},
        {16, 32, 12, 18, true, true, kernels::KernelActivation::leaky, 0},
        {16, 32, 6, 6, false, false, kernels::KernelActivation::linear, 0.2f},
        {8, 48, 10, 14, true, false, kernels::KernelActivation::relu, 0},
    };
    int index = -1;
    for (const Case& c : cases) {
        ++index;
        if (!kernels::convPoolKernelAvailable(c.cout))
            continue;
        at::manual_seed(20 + index);
        at::Tensor x = at::randn({2, c.cin, c.height, c.width});
        if (c.channelsLast)
            x = x.contiguous(at::MemoryFormat::ChannelsLast);
        const at::Tensor w = at::randn({c.cout, c.cin, 3, 3}) * 0.3;
        const at::Tensor scale = c.withScale ? at::rand({c.cout}) * 2 - 1 : at::Tensor(); // negative too
        const at::Tensor shift = at::randn({c.cout}) * 0.1;
        const at::Tensor expected = convPoolReference(x, w, scale, shift, c.activation, c.step, 0, 7);

        const at::Tensor packed = w.permute({2, 3, 1, 0}).contiguous();
        at::Tensor out = at::empty({2, c.cout, c.height / 2, c.width / 2}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
        kernels::ConvPoolParams p;
        p.input = x.data_ptr<float>();
        p.batch = 2;
        p.inChannels = c.cin;
        p.height = c.height;
        p.width = c.width;
        p.inStrideN = x.stride(0);
        p.inStrideC = x.stride(1);
        p.inStrideH = x.stride(2);
        p.inStrideW = x.stride(3);
        p.weight = packed.data_ptr<float>();
        p.bias = shift.data_ptr<float>();
        p.scale = scale.defined() ? scale.data_ptr<float>() : nullptr;
        p.outChannels = c.cout;
        p.output = out.data_ptr<float>();
        p.outStrideN = out.stride(0);
        p.outStrideH = out.stride(2);
        p.outStrideW = out.stride(3);
        p.activation = c.activation;
        p.quantStep = c.step;
        p.quantMin = 0;
        p.quantMax = 7;
        kernels::convPoolForward(p);
        const Agreement a = agreement(out, expected, 1e-4);
        if (c.step > 0)
            EXPECT_GE(a.fractionWithin, 0.99) << "case " << index; // a rounding may flip
        else
            EXPECT_LE(a.maxAbs, 1e-4) << "case " << index;
    }
}

// Loss of one batch as the trainer computes it.
at::Tensor trainingLoss(YoloNetworkImpl& net, const at::Tensor& input, const at::Tensor& targets)
{
    const std::vector<at::Tensor> heads = net.forward(input);
    const std::vector<int> yolo = net.spec().yoloIndices();
    at::Tensor total;
    for (size_t k = 0; k < heads.size(); ++k) {
        const YoloLoss loss = yoloLoss(heads[k], net.spec().layers[static_cast<size_t>(yolo[k])].yolo(), targets,
                                       input.size(2));
        total = total.defined() ? total + loss.total : loss.total;
    }
    return total;
}

void expectSameTrainingStep(bool lsq)
{
    const at::Tensor calibration = images(2, 96, 160, 8);
    const at::Tensor input = images(4, 96, 160, 9);
    const at::Tensor targets = at::tensor(std::vector<float>{0, 1, 0.5f, 0.5f, 0.2f, 0.3f, 1, 4, 0.3f, 0.6f, 0.1f, 0.15f,
                                                             2, 7, 0.7f, 0.4f, 0.3f, 0.2f, 3, 11, 0.2f, 0.2f, 0.1f, 0.1f})
                                   .view({4, 6});
    YoloNetwork reference = randomNetwork(lsq, 10, calibration);
    YoloNetwork fast = randomNetwork(lsq, 10, calibration);
    reference->setExecution(NetworkExecution::reference());
    fast->setExecution(NetworkExecution::forTraining()); // what the trainer runs
    reference->train();
    fast->train();
    const at::Tensor lossRef = trainingLoss(*reference, input, targets);
    const at::Tensor lossFast = trainingLoss(*fast, input, targets);
    lossRef.backward();
    lossFast.backward();
    EXPECT_NEAR(lossFast.item<double>(), lossRef.item<double>(), 1e-4 * std::abs(lossRef.item<double>()));

    const auto refParams = reference->named_parameters();
    const auto fastParams = fast->named_parameters();
    ASSERT_EQ(refParams.size(), fastParams.size());
    for (size_t i = 0; i < refParams.size(); ++i) {
        const std::string& name = refParams[i].key();
        const at::Tensor& g = refParams[i].value().grad();
        const at::Tensor& h = fastParams[i].value().grad();
        if (!g.defined() && !h.defined())
            continue; // a quantizer at bit 0 (the image input) has no step size to learn
        ASSERT_TRUE(g.defined() && h.defined()) << name;
        // Relative to the gradient's size. Both run channels-last (other summation orders;
        // batch norm's backward cancels most of the first layers' gradients, which magnifies
        // that rounding: up to 1.7e-3 measured in fp). LSQ's convolutions sum their codes
        // exactly, so only batch norm's statistics and the backward's sums differ: up to 9.8e-5
        // measured, in step-size gradients (sums of terms of both signs), 5e-6 in weights'.
        const double scale = g.norm().item<double>();
        const double tolerance = lsq ? 5e-4 : 5e-3;
        EXPECT_LE((g - h).norm().item<double>(), tolerance * scale + 1e-7)
            << name << " (gradient norm " << scale << ")";
    }
    // Batch norm's running statistics moved the same way.
    const auto refBuffers = reference->named_buffers();
    const auto fastBuffers = fast->named_buffers();
    for (size_t i = 0; i < refBuffers.size(); ++i)
        if (refBuffers[i].value().is_floating_point()) {
            EXPECT_TRUE(at::allclose(refBuffers[i].value(), fastBuffers[i].value(), 1e-4, 1e-5)) << refBuffers[i].key();
        }
}

TEST(FastPaths, TrainingStepGradientsMatchInFullPrecision)
{
    expectSameTrainingStep(false);
}

TEST(FastPaths, TrainingStepGradientsMatchWithLsq)
{
    expectSameTrainingStep(true);
}

TEST(FastPaths, SeededTrainingRunHasTheSameLossCurveOnBothPaths)
{
    test::TempDir dir;
    const std::filesystem::path dataFile = test::syntheticDataFile(dir.path(), 8, 2, 4);

    auto run = [&](const std::string& name, bool fastPath, const std::filesystem::path& quant,
                   const std::filesystem::path& from) {
        TrainingJob job;
        job.runDir = dir / name;
        job.sources.dataFile = dataFile;
        job.sources.quantFile = quant;
        job.sources.initWeights = from;
        job.options.set_epochs(2).set_batchSize(4).set_gradientAccumulation(1).set_inputWidth(160).set_inputHeight(96);
        job.options.set_evalInterval(2).set_checkpointInterval(1000).set_seed(3).set_fastKernels(fastPath);
        test::LossRecorder recorder;
        const RunSummary summary = Trainer(job, &recorder).run();
        EXPECT_EQ(summary.outcome, RunOutcome::finished) << name << ": " << summary.message;
        return recorder.losses;
    };
    // Adam normalizes each gradient, so last-bit differences (channels-last sums) grow step by
    // step: in fp 2.3e-3 relative by the fourth batch, measured; LSQ, whose convolutions sum
    // codes exactly, stays within 1e-3 (8.6e-6 measured).
    auto expectSameCurve = [](const std::vector<double>& reference, const std::vector<double>& fast, double tolerance,
                              const char* what) {
        ASSERT_EQ(reference.size(), 4u) << what;
        ASSERT_EQ(fast.size(), reference.size()) << what;
        for (size_t i = 0; i < reference.size(); ++i)
            EXPECT_NEAR(fast[i], reference[i], tolerance * std::abs(reference[i])) << what << " batch " << i;
    };
    const std::vector<double> fpReference = run("fp-reference", false, {}, {});
    const std::vector<double> fpFast = run("fp-fast", true, {}, {});
    expectSameCurve(fpReference, fpFast, 1e-2, "fp");

    const std::filesystem::path quant = std::filesystem::path(TYQ_SOURCE_DIR) / "config" / "lsq-3bit.yaml";
    const std::filesystem::path from = dir / "fp-reference" / "checkpoints" / "last.ckpt";
    const std::vector<double> lsqReference = run("lsq-reference", false, quant, from);
    const std::vector<double> lsqFast = run("lsq-fast", true, quant, from);
    expectSameCurve(lsqReference, lsqFast, 1e-3, "lsq");
}

} // namespace
} // namespace tyq
