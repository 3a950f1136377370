// Choosing bit-widths: the post-training preview builds what it says (LSQ-init weight steps,
// activation steps calibrated on each conv's real input), the search is optimal (checked
// against brute force on small tables), sensitivities order as bits do, and the YAML written
// for a choice holds its bits.
#include "test_support.h"
#include "training_support.h"

#include "bitwidth/bit_search.h"
#include "bitwidth/hessian_trace.h"
#include "bitwidth/post_training.h"
#include "bitwidth/sensitivity.h"
#include "model/network_summary.h"
#include "model/yolo_head.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace tyq {
namespace {

const std::filesystem::path& previewDataset()
{
    static test::TempDir dir;
    static const std::filesystem::path data = test::syntheticDataFile(dir.path(), 6, 4, 21);
    return data;
}

YoloNetwork seededNetwork()
{
    torch::manual_seed(5);
    YoloNetwork fp(defaultNetworkSpec());
    fp->initializeLikeReference();
    fp->eval();
    return fp;
}

PreviewOptions toyPreview(StepCalibration calibration)
{
    PreviewOptions o;
    o.calibrationImages = 4;
    o.validationImages = 4;
    o.width = 128;
    o.height = 96;
    o.calibration = calibration;
    o.loaderThreads = 1;
    return o;
}

/// The input each conv of `network` sees on `images` (index = position in convLayers()).
std::vector<at::Tensor> convInputs(YoloNetworkImpl& network, const at::Tensor& images)
{
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> layers;
    network.forward(images, &layers);
    std::vector<at::Tensor> inputs;
    for (const auto& c : network.convLayers())
        inputs.push_back(c.index == 0 ? images : layers[static_cast<size_t>(c.index - 1)]);
    return inputs;
}

double quantizationError(const at::Tensor& x, double step, const QuantizerSpec& spec)
{
    const at::Tensor v = x.reshape({-1});
    return (at::clamp(at::round(v / step), spec.qmin(), spec.qmax()) * step - v).square().mean().item<double>();
}

TEST(PostTraining, WeightStepsAreLsqInitAndActivationStepsFitEachConvsInput)
{
    for (StepCalibration calibration : {StepCalibration::lsqInit, StepCalibration::minimumError}) {
        SCOPED_TRACE(stepCalibrationName(calibration));
        YoloNetwork fp = seededNetwork();
        const PostTrainingPreview preview(fp, previewDataset(), toyPreview(calibration));
        EXPECT_EQ(preview.calibrationImages().size(0), 4);
        EXPECT_EQ(preview.calibrationImages().size(3), 128);
        const QuantConfig config = defaultQuantConfig();
        PreviewResult r = preview.run(config);
        ASSERT_TRUE(r.network->quantized());
        EXPECT_EQ(r.metrics.images, 4);

        // The fp weights are untouched and copied: the quantized conv holds the same values.
        const auto& fpConvs = preview.fullPrecision().convLayers();
        const auto& qConvs = r.network->convLayers();
        const std::vector<at::Tensor> inputs = convInputs(*r.network, preview.calibrationImages());
        for (size_t i = 0; i < qConvs.size(); ++i) {
            SCOPED_TRACE(qConvs[i].moduleName);
            EXPECT_TRUE(at::equal(qConvs[i].conv->weight, fpConvs[i].conv->weight));
            EXPECT_FALSE(fpConvs[i].conv->quantized());
            // Weights: s = 2 mean|w| / sqrt(Qp), per channel where the spec says so.
            const LayerQuantSpec spec = config.forModule(qConvs[i].moduleName);
            const at::Tensor w = fpConvs[i].conv->weight;
            const at::Tensor expected = spec.weight.perChannel
                                            ? w.abs().mean({1, 2, 3}, true) * 2 / std::sqrt(double(spec.weight.qmax()))
                                            : w.abs().mean() * 2 / std::sqrt(double(spec.weight.qmax()));
            EXPECT_TRUE(at::allclose(qConvs[i].conv->quanW->s.reshape(expected.sizes()), expected, 1e-6, 1e-9));
            if (!spec.act.enabled())
                continue;
            // Activations, on the input this conv gets from the quantized layers before it.
            const double s = qConvs[i].conv->quanA->s.item<double>();
            if (calibration == StepCalibration::lsqInit) {
                EXPECT_NEAR(s, inputs[i].abs().mean().item<double>() * 2 / std::sqrt(double(spec.act.qmax())), 1e-6 * s);
            } else {
                // The least squared error: better than no clipping and than steps 3 % either side.
                const double e = quantizationError(inputs[i], s, spec.act);
                const double top = (spec.act.allPositive ? inputs[i].max() : inputs[i].abs().max()).item<double>();
                EXPECT_LE(e, quantizationError(inputs[i], top / spec.act.qmax(), spec.act) * (1 + 1e-3));
                EXPECT_LE(e, quantizationError(inputs[i], s * 1.03, spec.act) * (1 + 1e-3));
                EXPECT_LE(e, quantizationError(inputs[i], s * 0.97, spec.act) * (1 + 1e-3));
            }
        }
        // The metrics are those of evaluating the returned model itself.
        const EvaluationResult again = preview.evaluate(*r.network);
        EXPECT_DOUBLE_EQ(again.mAP, r.metrics.mAP);
        EXPECT_DOUBLE_EQ(again.contestIoU, r.metrics.contestIoU);
    }
}

TEST(PostTraining, RefusesAQuantizedStartAndNamesAnEmptySplit)
{
    YoloNetwork fp = seededNetwork();
    YoloNetwork q = cloneNetwork(*fp);
    q->quantize(defaultQuantConfig());
    EXPECT_NE(test::errorOf([&] { PostTrainingPreview(q, previewDataset(), toyPreview(StepCalibration::minimumError)); })
                  .find("already quantized"),
              std::string::npos);
    test::TempDir dir;
    test::writeText(dir / "empty.txt", "");
    test::writeText(dir / "dac.names", test::dacNamesText());
    test::writeText(dir / "empty.data", "classes=12\ntrain=empty.txt\nvalid=empty.txt\nnames=dac.names\n");
    const std::string message =
        test::errorOf([&] { PostTrainingPreview(fp, dir / "empty.data", toyPreview(StepCalibration::minimumError)); });
    EXPECT_NE(message.find("empty.data"), std::string::npos) << message;
    EXPECT_NE(message.find("no usable samples"), std::string::npos) << message;
}

TEST(Sensitivity, MoreBitsNeverCostMoreOutputErrorAndOnlyOneQuantizerIsOn)
{
    const QuantConfig base = defaultQuantConfig();
    const QuantConfig single = singleQuantizerConfig(base, "module_list.8.conv_8", false, 4);
    for (int index : defaultNetworkSpec().convIndices()) {
        const LayerQuantSpec s = single.forModule(convModuleName(index));
        EXPECT_FALSE(s.weight.enabled());
        EXPECT_EQ(s.act.bit, index == 8 ? 4 : 0);
    }
    EXPECT_EQ(single.forModule("module_list.8.conv_8").act.allPositive, base.forModule("module_list.8.conv_8").act.allPositive);

    const PostTrainingPreview preview(seededNetwork(), previewDataset(), toyPreview(StepCalibration::minimumError));
    SensitivityOptions options;
    options.bits = {2, 4, 8};
    options.measure = false; // the proxy only: a random network has no mAP to lose
    int calls = 0;
    const SensitivityTable t = measureSensitivity(preview, base, options, [&](int done, int total, const std::string& what) {
        EXPECT_EQ(done, calls++); // 0: the Hessian traces, then one per entry
        EXPECT_EQ(total, 60);
        if (done == 0) {
            EXPECT_EQ(what, "Hessian traces");
        }
        return true;
    });
    ASSERT_EQ(t.entries.size(), 60u); // 10 convs x (weights, activations) x 3 bit-widths
    for (const SensitivityEntry& e : t.entries) {
        EXPECT_GE(e.outputError, 0) << e.module; // 0 for 8-bit image pixels: their codes are exact
        if (e.bits != 8)
            continue;
        const SensitivityEntry* two = t.find(e.module, e.weight, 2);
        ASSERT_TRUE(two);
        // 8 bits hurt no more than 2. Activations of these reference flags are all-positive, so
        // the negative part of a leaky ReLU is clipped at any width: a floor with noise on top.
        if (e.weight) {
            EXPECT_LT(e.outputError, two->outputError) << e.module;
            EXPECT_LT(e.hessianProxy, two->hessianProxy) << e.module;
        } else {
            EXPECT_LE(e.outputError, two->outputError * 1.05 + 1e-12) << e.module;
            EXPECT_LE(e.hessianProxy, two->hessianProxy * 1.05 + 1e-12) << e.module;
        }
        EXPECT_GE(e.hessianProxy, 0) << e.module;
    }
    // Stopping at the Hessian step leaves nothing, after the first entry one.
    EXPECT_EQ(measureSensitivity(preview, base, options, [](int, int, const std::string&) { return false; }).entries.size(), 0u);
    EXPECT_EQ(measureSensitivity(preview, base, options, [](int done, int, const std::string&) { return done == 0; })
                  .entries.size(),
              1u);
    // Without Hessian samples the Hessian proxy is absent, and the output error is the proxy used.
    options.hessianSamples = 0;
    const SensitivityTable noHessian = measureSensitivity(preview, base, options);
    EXPECT_TRUE(std::isnan(noHessian.entries.front().hessianProxy));
    EXPECT_FALSE(noHessian.hessianRanksBetter());
}

TEST(Sensitivity, HutchinsonTraceMatchesTheExactHessianTrace)
{
    // conv_0's weight (16 x 3 x 3 x 3 = 432 entries) is small enough for the exact trace: the sum
    // of d2L/dw_i2, one second derivative per entry, against the estimate from random vectors.
    YoloNetwork fp = seededNetwork();
    const PostTrainingPreview preview(fp, previewDataset(), toyPreview(StepCalibration::minimumError));
    const at::Tensor images = preview.calibrationImages().slice(0, 0, 2);
    const at::Tensor& allTargets = preview.calibrationTargets();
    const at::Tensor targets = allTargets.index_select(0, (allTargets.select(1, 0) < 2).nonzero().squeeze(1));
    ASSERT_GT(targets.size(0), 0);
    const HessianTraces estimate = estimateHessianTraces(*fp, images, targets, 32, 3);

    YoloNetwork net = cloneNetwork(*fp);
    net->eval();
    const at::Tensor weight = net->convLayers().front().conv->weight;
    const std::vector<at::Tensor> heads = net->forward(images);
    at::Tensor loss;
    const std::vector<int> yolo = net->spec().yoloIndices();
    for (size_t k = 0; k < heads.size(); ++k) {
        const at::Tensor term = yoloLoss(heads[k], net->spec().layers[yolo[k]].yolo(), targets, images.size(2)).total;
        loss = loss.defined() ? loss + term : term;
    }
    const at::Tensor gradient = torch::autograd::grad({loss}, {weight}, {}, true, true)[0].reshape({-1});
    double exact = 0;
    for (int64_t i = 0; i < gradient.numel(); ++i)
        exact += torch::autograd::grad({gradient[i]}, {weight}, {}, true, false)[0].reshape({-1})[i].item<double>();
    const double exactDensity = exact / static_cast<double>(weight.numel());
    ASSERT_GT(exactDensity, 0);
    EXPECT_NEAR(estimate.weight.at("module_list.0.conv_0"), exactDensity, 0.1 * exactDensity);
    EXPECT_EQ(estimate.weight.size(), 10u);
    EXPECT_EQ(estimate.activation.size(), 10u);
    for (const auto& traces : {estimate.weight, estimate.activation})
        for (const auto& [module, density] : traces)
            EXPECT_GT(density, 0) << module; // positive semi-definite; every conv reaches the loss

    // HAWQ's loss increase: 1/2 density ||dx||^2.
    EXPECT_DOUBLE_EQ(hessianLossIncrease(4.0, at::zeros({3}), at::ones({3})), 6.0);
}

TEST(Sensitivity, SpearmanRankCorrelation)
{
    EXPECT_DOUBLE_EQ(spearmanCorrelation({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
    EXPECT_DOUBLE_EQ(spearmanCorrelation({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
    EXPECT_NEAR(spearmanCorrelation({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}), 0.8207826816681233, 1e-12); // scipy, with a tie
    EXPECT_TRUE(std::isnan(spearmanCorrelation({1, 2}, {1, 2})));
    EXPECT_TRUE(std::isnan(spearmanCorrelation({1, 1, 1}, {1, 2, 3})));
}

// Every combination, for checking the search.
void bruteForce(const std::vector<std::vector<LayerOption>>& layers, size_t layer, SearchPoint& current,
                std::vector<SearchPoint>& all)
{
    if (layer == layers.size()) {
        all.push_back(current);
        return;
    }
    for (size_t i = 0; i < layers[layer].size(); ++i) {
        const LayerOption& o = layers[layer][i];
        current.choice.push_back(static_cast<int>(i));
        current.sizeBits += o.sizeBits;
        current.bitOps += o.bitOps;
        current.drop += o.drop;
        bruteForce(layers, layer + 1, current, all);
        current.choice.pop_back();
        current.sizeBits -= o.sizeBits;
        current.bitOps -= o.bitOps;
        current.drop -= o.drop;
    }
}

TEST(BitSearch, IsOptimalAgainstBruteForce)
{
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> cost(1, 60);
    std::uniform_real_distribution<double> drop(0.0, 0.2);
    for (int trial = 0; trial < 200; ++trial) {
        std::vector<std::vector<LayerOption>> layers(2 + trial % 4);
        for (auto& options : layers) {
            options.resize(1 + rng() % 5);
            for (LayerOption& o : options) {
                o.sizeBits = cost(rng);
                o.bitOps = cost(rng);
                o.drop = drop(rng);
            }
        }
        std::vector<SearchPoint> all;
        SearchPoint empty;
        bruteForce(layers, 0, empty, all);
        const int64_t sizeBudget = 10 + cost(rng) * static_cast<int64_t>(layers.size()) / 2;
        const int64_t bopsBudget = 10 + cost(rng) * static_cast<int64_t>(layers.size()) / 2;
        for (const SearchBudget& budget : {SearchBudget{sizeBudget, std::nullopt}, SearchBudget{std::nullopt, bopsBudget},
                                           SearchBudget{sizeBudget, bopsBudget}}) {
            std::optional<double> bestDrop;
            for (const SearchPoint& p : all)
                if ((!budget.sizeBits || p.sizeBits <= *budget.sizeBits) && (!budget.bitOps || p.bitOps <= *budget.bitOps))
                    bestDrop = std::min(bestDrop.value_or(1e9), p.drop);
            const std::optional<SearchPoint> found = searchBitWidths(layers, budget);
            ASSERT_EQ(found.has_value(), bestDrop.has_value()) << "trial " << trial;
            if (!found)
                continue;
            EXPECT_NEAR(found->drop, *bestDrop, 1e-12) << "trial " << trial;
            // What it reports is what its choice adds up to, within the budget.
            int64_t size = 0, bops = 0;
            double d = 0;
            for (size_t l = 0; l < layers.size(); ++l) {
                const LayerOption& o = layers[l][static_cast<size_t>(found->choice[l])];
                size += o.sizeBits;
                bops += o.bitOps;
                d += o.drop;
            }
            EXPECT_EQ(size, found->sizeBits);
            EXPECT_EQ(bops, found->bitOps);
            EXPECT_NEAR(d, found->drop, 1e-12);
            EXPECT_TRUE(!budget.sizeBits || size <= *budget.sizeBits);
            EXPECT_TRUE(!budget.bitOps || bops <= *budget.bitOps);
        }
        // The front: no point dominates another, and every combination is matched or beaten by one.
        const std::vector<SearchPoint> front = paretoFront(layers);
        for (size_t i = 1; i < front.size(); ++i) {
            EXPECT_GT(front[i].sizeBits, front[i - 1].sizeBits);
            EXPECT_LT(front[i].drop, front[i - 1].drop);
        }
        for (const SearchPoint& p : all) {
            const bool covered = std::any_of(front.begin(), front.end(), [&](const SearchPoint& f) {
                return f.sizeBits <= p.sizeBits && f.drop <= p.drop + 1e-12;
            });
            EXPECT_TRUE(covered) << "trial " << trial;
        }
    }
}

TEST(BitSearch, TheNetworksOptionsAreCostedByTheSummaryAndTheChoiceRoundTripsThroughYaml)
{
    const NetworkSpec spec = defaultNetworkSpec();
    const QuantConfig base = defaultQuantConfig();
    SensitivityTable table;
    for (int index : spec.convIndices())
        for (bool weight : {true, false})
            for (int bits : {2, 8}) {
                SensitivityEntry e;
                e.module = convModuleName(index);
                e.weight = weight;
                e.bits = bits;
                e.mapDrop = bits == 2 ? 0.01 * (index + 1) : 0.001; // deeper layers more sensitive
                table.entries.push_back(e);
            }
    const auto layers = layerOptions(spec, base, table, {0, 2, 8}, {0, 2, 8});
    ASSERT_EQ(layers.size(), spec.convIndices().size());
    for (const auto& options : layers)
        EXPECT_EQ(options.size(), 9u);

    // A budget between all-2-bit and all-8-bit: the choice fits and matches summarizeNetwork.
    QuantConfig two = base, eight = base;
    for (int index : spec.convIndices()) {
        LayerQuantOverride o2 = base.overrideFor(convModuleName(index)) ? *base.overrideFor(convModuleName(index)) : LayerQuantOverride{};
        LayerQuantOverride o8 = o2;
        o2.weight.bit = o2.act.bit = 2;
        o8.weight.bit = o8.act.bit = 8;
        two.setOverride(convModuleName(index), o2);
        eight.setOverride(convModuleName(index), o8);
    }
    const int64_t small = summarizeNetwork(spec, &two).sizeBitsQuantized;
    const int64_t large = summarizeNetwork(spec, &eight).sizeBitsQuantized;
    SearchBudget budget;
    budget.sizeBits = (small + large) / 2;
    const std::optional<SearchPoint> best = searchBitWidths(layers, budget);
    ASSERT_TRUE(best);
    const QuantConfig chosen = configForChoice(spec, base, layers, best->choice);
    const NetworkSummary summary = summarizeNetwork(spec, &chosen);
    EXPECT_EQ(summary.sizeBitsQuantized, best->sizeBits);
    EXPECT_EQ(summary.bitOps, best->bitOps);
    EXPECT_LE(summary.sizeBitsQuantized, *budget.sizeBits);
    const QuantConfig reread = parseQuantConfigYaml(quantConfigToYaml(chosen), "chosen.yaml");
    const std::vector<int> convs = spec.convIndices();
    for (size_t i = 0; i < convs.size(); ++i) {
        const LayerOption& o = layers[i][static_cast<size_t>(best->choice[i])];
        const LayerQuantSpec q = reread.forModule(convModuleName(convs[i]));
        EXPECT_EQ(q.weight.bit, o.weightBits) << convModuleName(convs[i]);
        EXPECT_EQ(q.act.bit, o.actBits) << convModuleName(convs[i]);
    }
    // No budget can be met below the all-smallest model.
    budget.sizeBits = summarizeNetwork(spec, &two).sizeBitsQuantized - 1;
    EXPECT_FALSE(searchBitWidths(layerOptions(spec, base, table, {2}, {2}), budget).has_value());
}

} // namespace
} // namespace tyq
