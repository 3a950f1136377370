// tyq's training checkpoints: every field survives a save and load, saving is atomic (a failed
// save leaves the previous file, and no temporary file either way), reference files are told
// apart, and loadModel rebuilds a network from the cfg and bit-widths a checkpoint records.
#include "test_support.h"

#include "common/embedded_config.h"
#include "common/error.h"
#include "io/checkpoint.h"
#include "model/model_loader.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

namespace tyq {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> filesIn(const fs::path& dir)
{
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

void expectSameState(const StateDict& got, const StateDict& expected, const std::string& what)
{
    ASSERT_EQ(got.size(), expected.size()) << what;
    for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].first, expected[i].first) << what;
        EXPECT_EQ(got[i].second.scalar_type(), expected[i].second.scalar_type()) << what << " " << got[i].first;
        EXPECT_TRUE(got[i].second.sizes() == expected[i].second.sizes() && torch::equal(got[i].second, expected[i].second))
            << what << " " << got[i].first;
    }
}

TrainingCheckpoint sampleCheckpoint()
{
    torch::manual_seed(21);
    TrainingCheckpoint c;
    c.model = {{"module_list.0.conv_0.weight", torch::randn({4, 3, 3, 3})},
               {"module_list.0.batch_norm_0.num_batches_tracked", torch::tensor(int64_t(1234))},
               {"module_list.0.conv_0.quan_a_fn.s", torch::full({1}, 0.126f)},
               {"module_list.0.conv_0.quan_w_fn.s", torch::tensor(0.0897f)}};
    c.optimizer = {{"module_list.0.conv_0.weight.exp_avg", torch::randn({4, 3, 3, 3})},
                   {"module_list.0.conv_0.weight.exp_avg_sq", torch::rand({4, 3, 3, 3})},
                   {"module_list.0.conv_0.weight.step", torch::tensor(int64_t(77))}};
    c.pendingGradients = {{"module_list.0.conv_0.weight", torch::randn({3, 4, 3, 3}).transpose(0, 1)}}; // non-contiguous
    c.phase = "lsq";
    c.cfgText = "[net]\nwidth=512\n# comment with ümlauts and 日本語\n";
    c.quantYaml = "quan_default:\n  act: {bit: 3}\n";
    c.optionsYaml = "epochs: 100\nrun_name: \"déjà vu\"\n\n";
    c.metricsJson = "{\"mAP\": 0.92, \"note\": \"line1\\nline2 — ok\"}\n";
    c.epoch = 12;
    c.batchInEpoch = 345;
    c.globalBatch = 6789012345LL; // beyond 32 bits
    c.rngState = at::detail::getDefaultCPUGenerator().get_state();
    c.tyqVersion = "tyq 0.1.0";
    return c;
}

TEST(Checkpoint, EveryFieldSurvivesSaveAndLoad)
{
    test::TempDir dir;
    const TrainingCheckpoint saved = sampleCheckpoint();
    saveCheckpoint(saved, dir / "run" / "last.pth"); // creates the folder
    const TrainingCheckpoint loaded = loadCheckpoint(dir / "run" / "last.pth");

    expectSameState(loaded.model, saved.model, "model");
    expectSameState(loaded.optimizer, saved.optimizer, "optimizer");
    expectSameState(loaded.pendingGradients, saved.pendingGradients, "pending gradients");
    EXPECT_EQ(loaded.phase, saved.phase);
    EXPECT_EQ(loaded.cfgText, saved.cfgText);
    EXPECT_EQ(loaded.quantYaml, saved.quantYaml);
    EXPECT_EQ(loaded.optionsYaml, saved.optionsYaml);
    EXPECT_EQ(loaded.metricsJson, saved.metricsJson);
    EXPECT_EQ(loaded.epoch, 12);
    EXPECT_EQ(loaded.batchInEpoch, 345);
    EXPECT_EQ(loaded.globalBatch, 6789012345LL);
    ASSERT_TRUE(loaded.rngState.defined());
    EXPECT_EQ(loaded.rngState.scalar_type(), saved.rngState.scalar_type());
    EXPECT_TRUE(torch::equal(loaded.rngState, saved.rngState));
    EXPECT_EQ(loaded.tyqVersion, saved.tyqVersion);

    // The restored RNG state really continues the same random sequence.
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(loaded.rngState);
    const at::Tensor a = torch::randn({5});
    generator.set_state(saved.rngState);
    EXPECT_TRUE(torch::equal(a, torch::randn({5})));
}

TEST(Checkpoint, EmptyOptionalPartsRoundTrip)
{
    test::TempDir dir;
    TrainingCheckpoint c;
    c.model = {{"w", torch::ones({2})}};
    c.phase = "fp";
    c.cfgText = "[net]\n";
    saveCheckpoint(c, dir / "fp.pth");
    const TrainingCheckpoint loaded = loadCheckpoint(dir / "fp.pth");
    EXPECT_TRUE(loaded.optimizer.empty());
    EXPECT_TRUE(loaded.pendingGradients.empty());
    EXPECT_EQ(loaded.quantYaml, "");
    EXPECT_EQ(loaded.epoch, 0);
    EXPECT_EQ(loaded.phase, "fp");
}

TEST(Checkpoint, SuccessfulSaveLeavesNoTemporaryFiles)
{
    test::TempDir dir;
    const TrainingCheckpoint c = sampleCheckpoint();
    saveCheckpoint(c, dir / "ckpt.pth");
    saveCheckpoint(c, dir / "ckpt.pth"); // over an existing file
    EXPECT_EQ(filesIn(dir.path()), std::vector<std::string>{"ckpt.pth"});
}

TEST(Checkpoint, FailedSaveKeepsThePreviousFileAndLeavesNoTemporary)
{
    test::TempDir dir;
    TrainingCheckpoint c = sampleCheckpoint();
    saveCheckpoint(c, dir / "ckpt.pth");
    const std::string before = test::readBytes(dir / "ckpt.pth");
    c.epoch = 13;
    c.model.emplace_back("big", torch::zeros({100000}));
    {
        test::FileSizeLimit limit(before.size() / 2);
        ASSERT_TRUE(limit.active());
        try {
            saveCheckpoint(c, dir / "ckpt.pth");
            ADD_FAILURE() << "the save did not fail";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("ckpt.pth"), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(test::readBytes(dir / "ckpt.pth"), before);
    EXPECT_EQ(loadCheckpoint(dir / "ckpt.pth").epoch, 12);
    EXPECT_EQ(filesIn(dir.path()), std::vector<std::string>{"ckpt.pth"});
}

TEST(Checkpoint, SaveIntoAReadOnlyFolderFailsAndKeepsThePreviousFile)
{
    test::TempDir dir;
    const fs::path folder = dir / "ro";
    TrainingCheckpoint c = sampleCheckpoint();
    saveCheckpoint(c, folder / "ckpt.pth");
    const std::string before = test::readBytes(folder / "ckpt.pth");
    fs::permissions(folder, fs::perms::owner_read | fs::perms::owner_exec);
    struct Restore {
        fs::path p;
        ~Restore() { fs::permissions(p, fs::perms::owner_all); }
    } restore{folder};
    if (::access(folder.c_str(), W_OK) == 0)
        GTEST_SKIP() << "running as root: a read-only folder is still writable (the file-size-limit test covers this)";
    c.epoch = 13;
    EXPECT_THROW(saveCheckpoint(c, folder / "ckpt.pth"), Error);
    EXPECT_EQ(test::readBytes(folder / "ckpt.pth"), before);
    EXPECT_EQ(filesIn(folder), std::vector<std::string>{"ckpt.pth"});
}

TEST(Checkpoint, ReferenceFilesAreNotTyqCheckpoints)
{
    TYQ_REQUIRE_REFERENCE();
    try {
        loadCheckpoint(test::referenceDir() / "seed" / "fp_ckpt_94.pth");
        ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("not a tyq checkpoint"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("fp_ckpt_94.pth"), std::string::npos) << e.what();
    }
}

TEST(Checkpoint, DamagedCheckpointsAreRefused)
{
    test::TempDir dir;
    TrainingCheckpoint c = sampleCheckpoint();
    c.phase = "int8";
    saveCheckpoint(c, dir / "phase.pth");
    EXPECT_THROW(loadCheckpoint(dir / "phase.pth"), Error);
    c.phase = "fp";
    c.cfgText.clear();
    saveCheckpoint(c, dir / "nocfg.pth");
    EXPECT_THROW(loadCheckpoint(dir / "nocfg.pth"), Error);
    saveCheckpoint(sampleCheckpoint(), dir / "ok.pth");
    const std::string bytes = test::readBytes(dir / "ok.pth");
    std::ofstream(dir / "cut.pth", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    EXPECT_THROW(loadCheckpoint(dir / "cut.pth"), Error);
}

TEST(Checkpoint, LoadModelUsesTheRecordedCfgAndBitWidths)
{
    torch::NoGradGuard noGrad;
    torch::manual_seed(8);
    YoloNetwork net(defaultNetworkSpec());
    net->initializeLikeReference();
    for (auto& layer : net->convLayers())
        if (layer.batchNorm) {
            layer.batchNorm->running_mean.uniform_(-0.5, 0.5);
            layer.batchNorm->running_var.uniform_(0.5, 2.0);
        }
    net->quantize(defaultQuantConfig());
    for (auto& [name, q] : net->quantizers())
        q->s.mul_(1.0 + 0.5 * torch::rand({}).item<double>()); // not the initial values
    net->eval();

    test::TempDir dir;
    TrainingCheckpoint c;
    c.model = collectStateDict(*net);
    c.phase = "lsq";
    c.cfgText = std::string(embeddedConfig("tiny-yolo-dac.cfg"));
    c.quantYaml = std::string(embeddedConfig("lsq-3bit.yaml"));
    c.epoch = 3;
    saveCheckpoint(c, dir / "lsq.pth");

    LoadedModel loaded = loadModel({"", "", dir / "lsq.pth"});
    ASSERT_TRUE(loaded.network->quantized());
    EXPECT_EQ(*loaded.network->quantConfig(), defaultQuantConfig());
    EXPECT_FALSE(loaded.network->is_training());
    EXPECT_NE(loaded.weightsDescription.find("checkpoint"), std::string::npos) << loaded.weightsDescription;
    const at::Tensor input = torch::rand({1, 3, 96, 160}) * 255;
    EXPECT_TRUE(torch::equal(loaded.network->detect(input), net->detect(input)));

    // A checkpoint with another network cfg rebuilds that network, not the default one.
    TrainingCheckpoint small;
    small.phase = "fp";
    small.cfgText = "[net]\nwidth=64\nheight=64\nchannels=3\n\n[convolutional]\nfilters=51\nsize=1\nstride=1\npad=1\n"
                    "activation=linear\n\n[yolo]\nmask=0,1,2\nanchors=10,14, 23,27, 37,58\nclasses=12\nnum=3\n";
    YoloNetwork smallNet(parseDarknetCfgText(small.cfgText, "small.cfg"));
    small.model = collectStateDict(*smallNet);
    saveCheckpoint(small, dir / "small.pth");
    const LoadedModel smallLoaded = loadModel({"", "", dir / "small.pth"});
    EXPECT_FALSE(smallLoaded.network->quantized());
    EXPECT_EQ(smallLoaded.network->convLayers().size(), 1u);
    EXPECT_EQ(smallLoaded.network->spec().width, 64);
}

} // namespace
} // namespace tyq
