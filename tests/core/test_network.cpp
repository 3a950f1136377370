// The network built from the shipped cfg: parameter names and shapes exactly as the reference's
// state dicts (before and after quantization), loading with a clear report of what does not
// fit, the yolo decoding formula and row order, and input sizes.
#include "reference_params.h"
#include "test_support.h"

#include "common/error.h"
#include "io/state_dict.h"
#include "model/model_loader.h"
#include "model/yolo_head.h"
#include "model/yolo_network.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace tyq {
namespace {

namespace fs = std::filesystem;
using test::NamedShape;

at::Tensor& tensorNamed(StateDict& state, const std::string& name)
{
    for (auto& [n, t] : state)
        if (n == name)
            return t;
    throw std::runtime_error("no tensor " + name);
}

using test::errorOf;
using test::shippedQuantYaml;

const std::vector<int> kConvLayers = {0, 2, 4, 6, 8, 10, 13, 18, 21, 22};

TEST(Network, HasTheReferenceParameterNamesAndShapes)
{
    TYQ_REQUIRE_REFERENCE();
    const test::ReferenceParams params = test::readReferenceParams(test::referenceDir() / "seed" / "lsq_model_params.txt");
    ASSERT_FALSE(params.fp.empty());
    YoloNetwork net(defaultNetworkSpec());
    EXPECT_EQ(test::namesAndShapes(collectStateDict(*net)), test::withBatchNormBuffers(params.fp));

    net->quantize(defaultQuantConfig());
    EXPECT_EQ(test::namesAndShapes(collectStateDict(*net)), test::withBatchNormBuffers(params.lsq));
}

TEST(Network, QuantizedConvsHaveBothStepSizesWithTheReferenceShapes)
{
    YoloNetwork net(defaultNetworkSpec());
    const StateDict fp = collectStateDict(*net);
    EXPECT_EQ(std::count_if(fp.begin(), fp.end(), [](const auto& e) { return e.first.find("quan_") != std::string::npos; }), 0);
    EXPECT_EQ(fp.size(), 10u + 9 * 5 + 1); // conv weights, BN weight/bias/mean/var/count, conv_22 bias

    net->quantize(defaultQuantConfig());
    StateDict lsq = collectStateDict(*net);
    EXPECT_EQ(lsq.size(), fp.size() + 20);
    for (int i : kConvLayers) {
        const std::string conv = "module_list." + std::to_string(i) + ".conv_" + std::to_string(i);
        EXPECT_EQ(tensorNamed(lsq, conv + ".quan_w_fn.s").dim(), 0) << conv;
        EXPECT_EQ(tensorNamed(lsq, conv + ".quan_a_fn.s").sizes(), at::IntArrayRef({1})) << conv;
        EXPECT_FLOAT_EQ(tensorNamed(lsq, conv + ".quan_a_fn.s").item<float>(), 0.1260f) << conv;
        // Weight steps start from the weights: 2 mean|w| / sqrt(3) for 3-bit symmetric.
        const at::Tensor w = tensorNamed(lsq, conv + ".weight");
        EXPECT_NEAR(tensorNamed(lsq, conv + ".quan_w_fn.s").item<double>(), 2 * w.abs().mean().item<double>() / std::sqrt(3.0),
                    1e-6)
            << conv;
    }
    EXPECT_TRUE(net->quantized());
    EXPECT_THROW(net->quantize(defaultQuantConfig()), Error); // twice is a mistake
}

TEST(Network, ApplyStateDictReportsMissingUnexpectedAndMismatchedNames)
{
    torch::manual_seed(0);
    YoloNetwork source(defaultNetworkSpec());
    StateDict state;
    for (const auto& [name, t] : collectStateDict(*source))
        state.emplace_back(name, t.detach().clone());
    state.erase(std::find_if(state.begin(), state.end(), [](const auto& e) { return e.first == "module_list.2.conv_2.weight"; }));
    state.emplace_back("module_list.99.conv_99.weight", torch::zeros({3}));
    tensorNamed(state, "module_list.4.batch_norm_4.weight") = torch::ones({65});

    YoloNetwork target(defaultNetworkSpec());
    const at::Tensor before = target->convLayers()[0].conv->weight.detach().clone();
    const std::string message = errorOf([&] { applyStateDict(*target, state, "weights.pth", /*requireClean=*/true); });
    EXPECT_NE(message.find("weights.pth"), std::string::npos) << message;
    EXPECT_NE(message.find("module_list.2.conv_2.weight"), std::string::npos) << message;
    EXPECT_NE(message.find("module_list.99.conv_99.weight"), std::string::npos) << message;
    EXPECT_NE(message.find("module_list.4.batch_norm_4.weight"), std::string::npos) << message;
    EXPECT_TRUE(torch::equal(target->convLayers()[0].conv->weight, before)) << "nothing is applied when refused";

    const StateDictReport report = applyStateDict(*target, state, "weights.pth", /*requireClean=*/false);
    EXPECT_FALSE(report.clean());
    EXPECT_EQ(report.missing, std::vector<std::string>{"module_list.2.conv_2.weight"});
    EXPECT_EQ(report.unexpected, std::vector<std::string>{"module_list.99.conv_99.weight"});
    ASSERT_EQ(report.mismatched.size(), 1u);
    EXPECT_EQ(report.mismatched[0].rfind("module_list.4.batch_norm_4.weight", 0), 0u) << report.mismatched[0];
    EXPECT_NE(report.mismatched[0].find("65"), std::string::npos) << report.mismatched[0];
    // Everything that fits was copied.
    EXPECT_TRUE(torch::equal(target->convLayers()[0].conv->weight, source->convLayers()[0].conv->weight));
    EXPECT_FALSE(torch::equal(target->convLayers()[1].conv->weight, source->convLayers()[1].conv->weight));
}

TEST(Network, ApplyStateDictAcceptsOneValueStepSizesInEitherShape)
{
    YoloNetwork net(defaultNetworkSpec());
    net->quantize(defaultQuantConfig());
    StateDict state;
    for (const auto& [name, t] : collectStateDict(*net))
        state.emplace_back(name, t.detach().clone());
    tensorNamed(state, "module_list.2.conv_2.quan_w_fn.s") = torch::full({1}, 0.25f); // [1] for []
    tensorNamed(state, "module_list.2.conv_2.quan_a_fn.s") = torch::tensor(0.5f);     // [] for [1]
    const StateDictReport report = applyStateDict(*net, state, "s.pth", /*requireClean=*/true);
    EXPECT_TRUE(report.clean()) << report.describe();
    EXPECT_EQ(net->convLayers()[1].conv->quanW->s.item<float>(), 0.25f);
    EXPECT_EQ(net->convLayers()[1].conv->quanA->s.item<float>(), 0.5f);
    EXPECT_EQ(net->convLayers()[1].conv->quanW->s.dim(), 0);
}

TEST(Network, LoadModelRefusesWeightsOfTheOtherKind)
{
    TYQ_REQUIRE_REFERENCE();
    const fs::path seed = test::referenceDir() / "seed";
    const std::string fpWithQuant = errorOf([&] { loadModel({"", shippedQuantYaml(), seed / "fp_ckpt_94.pth"}); });
    EXPECT_NE(fpWithQuant.find("full-precision"), std::string::npos) << fpWithQuant;
    EXPECT_NE(fpWithQuant.find("fp_ckpt_94.pth"), std::string::npos) << fpWithQuant;
    const std::string lsqWithoutQuant = errorOf([&] { loadModel({"", "", seed / "lsq_ckpt_92.pth"}); });
    EXPECT_NE(lsqWithoutQuant.find("quantized"), std::string::npos) << lsqWithoutQuant;
    EXPECT_NE(lsqWithoutQuant.find("--quant"), std::string::npos) << lsqWithoutQuant;

    // The right pairings load, in eval mode, with the file's values.
    const LoadedModel fp = loadModel({"", "", seed / "fp_ckpt_94.pth"});
    EXPECT_FALSE(fp.network->is_training());
    EXPECT_FALSE(fp.network->quantized());
    const LoadedModel lsq = loadModel({"", shippedQuantYaml(), seed / "lsq_ckpt_92.pth"});
    EXPECT_TRUE(lsq.network->quantized());
    EXPECT_NEAR(lsq.network->convLayers()[0].conv->quanW->s.item<double>(), 0.0897488, 1e-6);
}

YoloSpec referenceYolo()
{
    const NetworkSpec spec = defaultNetworkSpec();
    return spec.layers[static_cast<size_t>(spec.yoloIndices().at(0))].yolo();
}

double sigmoid(double v) { return 1 / (1 + std::exp(-v)); }

TEST(Network, DecodeFollowsTheReferenceFormulaAndRowOrder)
{
    const YoloSpec yolo = referenceYolo();
    ASSERT_EQ(yolo.anchors.size(), 3u);
    ASSERT_EQ(yolo.classes, 12);
    const std::vector<std::pair<double, double>> anchors = {{10, 14}, {23, 27}, {37, 58}}; // REFERENCE.md, pixels
    // A 2 x 3 grid for a 32-pixel-high input: stride 16.
    const int64_t H = 2, W = 3, attrs = 17;
    torch::manual_seed(4);
    const at::Tensor raw = torch::randn({1, 3 * attrs, H, W});
    const at::Tensor out = decodeYoloOutput(raw, yolo, 32);
    ASSERT_EQ(out.sizes(), at::IntArrayRef({1, 3 * H * W, attrs}));
    auto r = [&](int64_t a, int64_t k, int64_t row, int64_t col) { return raw[0][a * attrs + k][row][col].item<double>(); };
    for (int64_t a = 0; a < 3; ++a)
        for (int64_t row = 0; row < H; ++row)
            for (int64_t col = 0; col < W; ++col) {
                const at::Tensor got = out[0][a * H * W + row * W + col]; // anchor-major, row, column
                const std::string where = "anchor " + std::to_string(a) + " row " + std::to_string(row) + " col " + std::to_string(col);
                EXPECT_NEAR(got[0].item<double>(), (sigmoid(r(a, 0, row, col)) + col) * 16, 1e-4) << where;
                EXPECT_NEAR(got[1].item<double>(), (sigmoid(r(a, 1, row, col)) + row) * 16, 1e-4) << where;
                EXPECT_NEAR(got[2].item<double>(), std::exp(r(a, 2, row, col)) * anchors[a].first, 1e-4) << where;
                EXPECT_NEAR(got[3].item<double>(), std::exp(r(a, 3, row, col)) * anchors[a].second, 1e-4) << where;
                for (int64_t k = 4; k < attrs; ++k)
                    EXPECT_NEAR(got[k].item<double>(), sigmoid(r(a, k, row, col)), 1e-6) << where << " attribute " << k;
            }
}

TEST(Network, DecodeOfOneHandSetCell)
{
    // All zeros except anchor 1 at row 1, column 2 of a 2 x 3 grid (stride 16).
    at::Tensor raw = torch::zeros({1, 51, 2, 3});
    const int64_t base = 1 * 17;
    raw[0][base + 0][1][2] = 0.5;  // tx
    raw[0][base + 1][1][2] = -0.3; // ty
    raw[0][base + 2][1][2] = 0.2;  // tw
    raw[0][base + 3][1][2] = -0.1; // th
    raw[0][base + 4][1][2] = 2.0;  // objectness
    raw[0][base + 5 + 3][1][2] = 1.5; // class 3
    const at::Tensor out = decodeYoloOutput(raw, referenceYolo(), 32)[0];
    const at::Tensor row = out[1 * 6 + 1 * 3 + 2];
    EXPECT_NEAR(row[0].item<double>(), (sigmoid(0.5) + 2) * 16, 1e-4);
    EXPECT_NEAR(row[1].item<double>(), (sigmoid(-0.3) + 1) * 16, 1e-4);
    EXPECT_NEAR(row[2].item<double>(), std::exp(0.2) * 23, 1e-4);
    EXPECT_NEAR(row[3].item<double>(), std::exp(-0.1) * 27, 1e-4);
    EXPECT_NEAR(row[4].item<double>(), sigmoid(2.0), 1e-6);
    EXPECT_NEAR(row[5 + 3].item<double>(), sigmoid(1.5), 1e-6);
    EXPECT_NEAR(row[5].item<double>(), 0.5, 1e-6);
    // Its neighbour in the row order is the plain zero cell: centre of cell (row 1, col 1).
    const at::Tensor before = out[1 * 6 + 1 * 3 + 1];
    EXPECT_NEAR(before[0].item<double>(), 1.5 * 16, 1e-4);
    EXPECT_NEAR(before[1].item<double>(), 1.5 * 16, 1e-4);
    EXPECT_NEAR(before[2].item<double>(), 23, 1e-4);
}

TEST(Network, AnyInputSizeMultipleOf32Works)
{
    torch::NoGradGuard noGrad;
    torch::manual_seed(2);
    YoloNetwork net(defaultNetworkSpec());
    net->eval();
    const at::Tensor small = net->detect(torch::rand({1, 3, 192, 320}) * 255);
    EXPECT_EQ(small.sizes(), at::IntArrayRef({1, 3 * 12 * 20, 17}));
    const at::Tensor square = net->detect(torch::rand({2, 3, 64, 64}) * 255);
    EXPECT_EQ(square.sizes(), at::IntArrayRef({2, 3 * 4 * 4, 17}));
    // The last row is anchor 2's bottom-right cell: its centre lies in the last 16-pixel cell.
    const double cx = small[0][-1][0].item<double>();
    const double cy = small[0][-1][1].item<double>();
    EXPECT_GT(cx, 19 * 16);
    EXPECT_LT(cx, 20 * 16);
    EXPECT_GT(cy, 11 * 16);
    EXPECT_LT(cy, 12 * 16);

    const std::string message = errorOf([&] { net->detect(torch::rand({1, 3, 200, 320})); });
    EXPECT_NE(message.find("32"), std::string::npos) << message;
    errorOf([&] { net->detect(torch::rand({1, 3, 192, 300})); });
    errorOf([&] { net->detect(torch::rand({1, 1, 192, 320})); }); // wrong channel count
}

} // namespace
} // namespace tyq
