// Weights that are not usable numbers: NaN or Inf anywhere, a negative batch-norm variance, a
// step size <= 0. Every source refuses them naming the tensor (reference-style .pth, tyq
// checkpoints, exports, the integer model folder, the trainer's --from and resume), and the
// forensic switch loads them with a warning per tensor instead.
#include "test_support.h"
#include "training_support.h"

#include "common/embedded_config.h"
#include "hw/integer_model.h"
#include "hw/integer_model_files.h"
#include "io/checkpoint.h"
#include "io/npy.h"
#include "io/state_dict.h"
#include "model/model_loader.h"
#include "model/weight_check.h"
#include "train/trainer.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cmath>

namespace tyq {
namespace {

namespace fs = std::filesystem;
using test::errorOf;


YoloNetwork soundNetwork(bool quantized)
{
    torch::manual_seed(3);
    YoloNetwork net(defaultNetworkSpec());
    net->initializeLikeReference();
    if (quantized)
        net->quantize(defaultQuantConfig());
    return net;
}

// The network's state dict with one entry changed by `edit`.
StateDict editedState(const YoloNetwork& net, const std::string& name, const std::function<void(at::Tensor&)>& edit)
{
    StateDict state;
    bool found = false;
    for (const auto& [key, t] : collectStateDict(*net)) {
        at::Tensor copy = t.detach().clone();
        if (key == name) {
            edit(copy);
            found = true;
        }
        state.emplace_back(key, copy);
    }
    EXPECT_TRUE(found) << "no entry " << name;
    return state;
}

void setFlat(at::Tensor& t, int64_t index, float value)
{
    t.view({-1})[index].fill_(value);
}

TEST(InvalidWeights, NonFiniteSummaryCountsAndLocates)
{
    EXPECT_EQ(nonFiniteSummary(torch::ones({3, 3})), "");
    EXPECT_EQ(nonFiniteSummary(torch::tensor({1, 2, 3})), ""); // integers are always finite
    at::Tensor t = torch::zeros({2, 3, 2, 2});
    setFlat(t, 17, std::nanf(""));
    EXPECT_EQ(nonFiniteSummary(t), "1 non-finite value of 24 (nan at [1, 1, 0, 1])");
    setFlat(t, 20, -INFINITY);
    EXPECT_EQ(nonFiniteSummary(t), "2 non-finite values of 24 (first: nan at [1, 1, 0, 1])");
    EXPECT_EQ(nonFiniteSummary(torch::full({}, INFINITY)), "1 non-finite value (inf)");
}

TEST(InvalidWeights, NanInAReferenceStyleStateDictIsRefusedNamingTheTensor)
{
    test::TempDir dir;
    const YoloNetwork net = soundNetwork(false);
    writeStateDictPth(editedState(net, "module_list.2.conv_2.weight", [](at::Tensor& t) { setFlat(t, 5, std::nanf("")); }),
                      dir / "nan.pth");
    const std::string e = errorOf([&] { loadModel({"", "", dir / "nan.pth"}); });
    EXPECT_CONTAINS(e, (dir / "nan.pth").string() + ": invalid weights");
    EXPECT_CONTAINS(e, "module_list.2.conv_2.weight: 1 non-finite value");

    // The forensic switch loads it, with the same problem as a warning.
    const LoadedModel loaded = loadModel({"", "", dir / "nan.pth", InvalidWeights::allow});
    ASSERT_EQ(loaded.warnings.size(), 1u);
    EXPECT_CONTAINS(loaded.warnings[0], "module_list.2.conv_2.weight: 1 non-finite value");
    EXPECT_CONTAINS(loaded.warnings[0], "loaded anyway");
}

TEST(InvalidWeights, EveryKindOfBadValueInACheckpointIsNamed)
{
    test::TempDir dir;
    const YoloNetwork net = soundNetwork(true);
    struct Case {
        std::string name;
        std::function<void(at::Tensor&)> edit;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {"module_list.0.batch_norm_0.running_mean", [](at::Tensor& t) { setFlat(t, 3, INFINITY); },
         "module_list.0.batch_norm_0.running_mean: 1 non-finite value of 16 (inf at [3])"},
        {"module_list.4.batch_norm_4.running_var", [](at::Tensor& t) { setFlat(t, 7, -0.25f); },
         "module_list.4.batch_norm_4.running_var: 1 negative variance (-0.25 at [7])"},
        {"module_list.2.conv_2.quan_w_fn.s", [](at::Tensor& t) { t.fill_(0.0f); },
         "module_list.2.conv_2.quan_w_fn.s: 1 step size not > 0 (0)"},
        {"module_list.8.conv_8.quan_a_fn.s", [](at::Tensor& t) { t.fill_(std::nanf("")); },
         "module_list.8.conv_8.quan_a_fn.s: 1 non-finite value (nan)"},
        {"module_list.22.conv_22.bias", [](at::Tensor& t) { t.fill_(-INFINITY); },
         "module_list.22.conv_22.bias: 51 non-finite values (first: -inf at [0])"},
    };
    for (const Case& c : cases) {
        TrainingCheckpoint checkpoint;
        checkpoint.model = editedState(net, c.name, c.edit);
        checkpoint.phase = "lsq";
        checkpoint.cfgText = std::string(embeddedConfig("tiny-yolo-dac.cfg"));
        checkpoint.quantYaml = std::string(embeddedConfig("lsq-3bit.yaml"));
        const fs::path file = dir / "bad.ckpt";
        saveCheckpoint(checkpoint, file);
        const std::string e = errorOf([&] { loadModel({"", "", file}); });
        EXPECT_CONTAINS(e, file.string());
        EXPECT_CONTAINS(e, c.expected);
    }
}

TEST(InvalidWeights, SoundWeightsLoadWithoutWarnings)
{
    test::TempDir dir;
    const YoloNetwork net = soundNetwork(false);
    writeStateDictPth(collectStateDict(*net), dir / "ok.pth");
    const LoadedModel loaded = loadModel({"", "", dir / "ok.pth"});
    EXPECT_TRUE(loaded.warnings.empty());
    EXPECT_TRUE(invalidWeights(*loaded.network).empty());
}

TEST(InvalidWeights, IntegerModelFolderWithANanTableIsRefusedNamingTheFile)
{
    test::TempDir dir;
    YoloNetwork net = soundNetwork(true);
    net->eval();
    writeIntegerModel(exportIntegerModel(*net, "test"), dir / "int");
    ASSERT_NO_THROW(readIntegerModel(dir / "int"));

    // The float tables of the last conv, and a batch-norm table whose variance went negative.
    fs::path floatOut, batchNorm;
    for (const auto& entry : fs::directory_iterator(dir / "int")) {
        const std::string name = entry.path().filename().string();
        if (name.find("_float_out.npy") != std::string::npos)
            floatOut = entry.path();
        if (name == "layer_4_bn.npy")
            batchNorm = entry.path();
    }
    ASSERT_FALSE(floatOut.empty());
    ASSERT_FALSE(batchNorm.empty());

    const at::Tensor goodFloat = readNpy(floatOut);
    at::Tensor bad = goodFloat.clone();
    setFlat(bad, 1, std::nanf(""));
    writeNpy(bad, floatOut);
    std::string e = errorOf([&] { readIntegerModel(dir / "int"); });
    EXPECT_CONTAINS(e, floatOut.string() + ": 1 non-finite value");
    writeNpy(goodFloat, floatOut);

    at::Tensor bn = readNpy(batchNorm);
    bn[3][5].fill_(-2.0f);
    writeNpy(bn, batchNorm);
    e = errorOf([&] { readIntegerModel(dir / "int"); });
    EXPECT_CONTAINS(e, "layers[4].batch_norm");
    EXPECT_CONTAINS(e, "variance");
}

fs::path makeDataset(const test::TempDir& dir)
{
    return test::syntheticDataFile(dir / "data", 4, 2, 9);
}

TrainOptions oneTinyEpoch()
{
    TrainOptions o;
    o.set_epochs(1).set_batchSize(2).set_gradientAccumulation(1).set_inputWidth(64).set_inputHeight(64);
    o.set_evalInterval(1000).set_checkpointInterval(1000).set_loaderThreads(1).set_prefetchBatches(1);
    return o;
}

TEST(InvalidWeights, TrainingFromOrResumingInvalidWeightsIsRefused)
{
    test::TempDir dir;
    const fs::path data = makeDataset(dir);
    const YoloNetwork net = soundNetwork(false);
    writeStateDictPth(editedState(net, "module_list.6.conv_6.weight", [](at::Tensor& t) { setFlat(t, 0, INFINITY); }),
                      dir / "inf.pth");

    TrainingJob lsq;
    lsq.runDir = dir / "lsq";
    lsq.sources.dataFile = data;
    lsq.sources.quantFile = test::shippedQuantYaml();
    lsq.sources.initWeights = dir / "inf.pth";
    lsq.options = oneTinyEpoch();
    const RunSummary fromBad = Trainer(lsq, nullptr).run();
    ASSERT_EQ(fromBad.outcome, RunOutcome::failed) << fromBad.message;
    EXPECT_CONTAINS(fromBad.message, (dir / "inf.pth").string());
    EXPECT_CONTAINS(fromBad.message, "module_list.6.conv_6.weight: 1 non-finite value");

    // A finished fp run whose last checkpoint was damaged afterwards: --resume refuses it.
    TrainingJob fp;
    fp.runDir = dir / "fp";
    fp.sources.dataFile = data;
    fp.options = oneTinyEpoch();
    ASSERT_EQ(Trainer(fp, nullptr).run().outcome, RunOutcome::finished);
    const fs::path last = fp.runDir / "checkpoints" / "last.ckpt";
    TrainingCheckpoint c = loadCheckpoint(last);
    ASSERT_FALSE(c.optimizer.empty());
    for (auto& [name, t] : c.optimizer)
        if (name == "module_list.0.conv_0.weight.exp_avg_sq")
            setFlat(t, 2, std::nanf(""));
    saveCheckpoint(c, last);
    TrainingJob resume;
    resume.runDir = fp.runDir;
    resume.resume = true;
    resume.resumeEpochs = 2;
    const RunSummary resumed = Trainer(resume, nullptr).run();
    ASSERT_EQ(resumed.outcome, RunOutcome::failed) << resumed.message;
    EXPECT_CONTAINS(resumed.message, last.string() + ": optimizer state module_list.0.conv_0.weight.exp_avg_sq: 1 non-finite");
}

} // namespace
} // namespace tyq
