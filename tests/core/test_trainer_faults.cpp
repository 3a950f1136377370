// Training under faults: a disk that fills up mid-run, images deleted between epochs, weights
// and step sizes that turn non-finite, and a long run whose memory must stay flat. Each fault
// ends the run with a message naming the file or layer and the problem, and last.ckpt loads.
#include "test_support.h"
#include "training_support.h"

#include "common/csv_table.h"
#include "common/text.h"
#include "io/checkpoint.h"
#include "train/run_folder.h"
#include "train/trainer.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <optional>

namespace tyq {
namespace {

namespace fs = std::filesystem;

// A fresh small dataset per test (tests delete files from it): 8 train and 4 val images.
fs::path makeDataset(const test::TempDir& dir, int trainCount = 8)
{
    return test::syntheticDataFile(dir / "data", trainCount, 4, 5);
}

TrainOptions smallOptions(int epochs)
{
    TrainOptions o;
    o.set_epochs(epochs).set_batchSize(4).set_gradientAccumulation(1).set_inputWidth(128).set_inputHeight(96);
    o.set_evalInterval(1000).set_checkpointInterval(1000).set_loaderThreads(1).set_prefetchBatches(1);
    return o;
}

class Recorder : public TrainingObserver {
public:
    std::vector<std::string> warnings;
    std::vector<std::string> checkpoints;
    int failedCalls = 0;
    void log(LogLevel level, const std::string& m) override
    {
        if (level != LogLevel::info)
            warnings.push_back(m);
    }
    void checkpointWritten(const fs::path& path, const std::string&) override { checkpoints.push_back(path.string()); }
    void runFailed(const RunSummary&) override { ++failedCalls; }
    bool warned(const std::string& a, const std::string& b) const
    {
        for (const std::string& w : warnings)
            if (w.find(a) != std::string::npos && w.find(b) != std::string::npos)
                return true;
        return false;
    }
};


std::vector<std::string> temporaryFiles(const fs::path& dir)
{
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.path().filename().string().find(".tmp.") != std::string::npos)
            out.push_back(e.path().string());
    return out;
}

void expectFiniteWeights(const fs::path& checkpoint)
{
    for (const auto& [name, t] : loadCheckpoint(checkpoint).model)
        if (t.is_floating_point()) {
            EXPECT_TRUE(at::isfinite(t).all().item<bool>()) << name;
        }
}

TEST(TrainerFaults, FullDiskFailsTheRunAndKeepsTheLastCheckpoint)
{
    test::TempDir dir;
    TrainingJob job;
    job.runDir = dir / "run";
    job.sources.dataFile = makeDataset(dir);
    job.options = smallOptions(3);
    std::optional<test::FileSizeLimit> limit;
    // After the last batch of epoch 2, before its checkpoint: files may no longer exceed 1 MB
    // (the checkpoint needs ~12 MB; run.json, the CSVs and the log still fit).
    job.afterBatch = [&](torch::nn::Module&, int64_t globalBatch) {
        if (globalBatch == 3)
            limit.emplace(1 << 20);
    };
    Recorder recorder;
    const RunSummary summary = Trainer(job, &recorder).run();
    ASSERT_TRUE(limit && limit->active());
    limit.reset();

    ASSERT_EQ(summary.outcome, RunOutcome::failed) << summary.message;
    EXPECT_EQ(recorder.failedCalls, 1);
    EXPECT_NE(summary.message.find("last.ckpt"), std::string::npos) << summary.message;
    EXPECT_NE(summary.message.find("File too large"), std::string::npos) << summary.message;
    const RunStatus status = readRunStatus(job.runDir);
    EXPECT_EQ(status.state, "failed");
    EXPECT_EQ(status.message, summary.message);
    // The previous checkpoint is whole, and no temporary file is left behind.
    EXPECT_EQ(loadCheckpoint(job.runDir / "checkpoints" / "last.ckpt").epoch, 1);
    EXPECT_TRUE(temporaryFiles(job.runDir).empty());

    // With space again, the run resumes from it and finishes.
    TrainingJob resume;
    resume.runDir = job.runDir;
    resume.resume = true;
    const RunSummary resumed = Trainer(resume, nullptr).run();
    ASSERT_EQ(resumed.outcome, RunOutcome::finished) << resumed.message;
    EXPECT_EQ(loadCheckpoint(job.runDir / "checkpoints" / "last.ckpt").epoch, 3);
    EXPECT_EQ(readCsv(job.runDir / "batches.csv").rows.size(), 6u);
}

TEST(TrainerFaults, ASecondTrainingOnTheSameFolderIsRefused)
{
    test::TempDir dir;
    TrainingJob job;
    job.runDir = dir / "run";
    job.sources.dataFile = makeDataset(dir);
    job.options = smallOptions(1);
    ASSERT_EQ(Trainer(job, nullptr).run().outcome, RunOutcome::finished);
    const RunFolder holder(job.runDir, /*resume=*/true); // as another process's training would
    TrainingJob resume;
    resume.runDir = job.runDir;
    resume.resume = true;
    resume.resumeEpochs = 2;
    const RunSummary refused = Trainer(resume, nullptr).run();
    EXPECT_EQ(refused.outcome, RunOutcome::failed);
    EXPECT_NE(refused.message.find("another training is using this run folder"), std::string::npos) << refused.message;
    EXPECT_EQ(loadCheckpoint(job.runDir / "checkpoints" / "last.ckpt").epoch, 1); // untouched
}

// The first image of the training list, as the loader resolves it.
fs::path firstTrainImage(const fs::path& dataFile)
{
    const fs::path list = dataFile.parent_path() / "train.txt";
    const std::string first(text::trim(text::lines(text::readFile(list.string())).front()));
    return fs::path(first).is_absolute() ? fs::path(first) : list.parent_path() / first;
}

TEST(TrainerFaults, ImageDeletedMidRunIsSkippedOrStopsAStrictRun)
{
    for (const bool strict : {false, true}) {
        SCOPED_TRACE(strict ? "strict" : "lenient");
        test::TempDir dir;
        TrainingJob job;
        job.runDir = dir / "run";
        job.sources.dataFile = makeDataset(dir);
        job.options = smallOptions(3).set_strictData(strict);
        const fs::path victim = firstTrainImage(job.sources.dataFile);
        ASSERT_TRUE(fs::exists(victim)) << victim;
        job.afterBatch = [&](torch::nn::Module&, int64_t globalBatch) {
            if (globalBatch == 1) // the end of epoch 1: the image is gone from epoch 2 on
                fs::remove(victim);
        };
        Recorder recorder;
        const RunSummary summary = Trainer(job, &recorder).run();
        const std::string name = victim.filename().string();
        if (strict) {
            ASSERT_EQ(summary.outcome, RunOutcome::failed) << summary.message;
            EXPECT_NE(summary.message.find(name), std::string::npos) << summary.message;
            EXPECT_NE(summary.message.find("image not found"), std::string::npos) << summary.message;
            EXPECT_EQ(readRunStatus(job.runDir).state, "failed");
            EXPECT_EQ(loadCheckpoint(job.runDir / "checkpoints" / "last.ckpt").epoch, 1);
        } else {
            ASSERT_EQ(summary.outcome, RunOutcome::finished) << summary.message;
            EXPECT_TRUE(recorder.warned(name, "image not found")) << "the missing image is reported";
            EXPECT_EQ(loadCheckpoint(job.runDir / "checkpoints" / "last.ckpt").epoch, 3);
        }
    }
}

// Sets a parameter of the network (by name) to a value, as a fault would.
void corrupt(torch::nn::Module& network, const std::string& name, float value)
{
    at::NoGradGuard noGrad;
    for (const auto& p : network.named_parameters())
        if (p.key() == name) {
            p.value().fill_(value);
            return;
        }
    FAIL() << "no parameter " << name;
}

TEST(TrainerFaults, NonFiniteLayerOutputIsNamedAndTheRunStops)
{
    test::TempDir dir;
    TrainingJob job;
    job.runDir = dir / "run";
    job.sources.dataFile = makeDataset(dir);
    job.options = smallOptions(3);
    // Finite but huge weights in conv 2: its output overflows on the next batch while every
    // parameter is still finite, so the message must come from the layer outputs.
    job.afterBatch = [&](torch::nn::Module& network, int64_t globalBatch) {
        if (globalBatch == 2)
            corrupt(network, "module_list.2.conv_2.weight", 3e38f);
    };
    const RunSummary summary = Trainer(job, nullptr).run();
    ASSERT_EQ(summary.outcome, RunOutcome::failed) << summary.message;
    EXPECT_NE(summary.message.find("diverged"), std::string::npos) << summary.message;
    EXPECT_NE(summary.message.find("first non-finite output: layer 2 (convolutional, module_list.2.conv_2"),
              std::string::npos)
        << summary.message;
    EXPECT_NE(summary.message.find("epoch 2 batch 2"), std::string::npos) << summary.message;
    EXPECT_EQ(readRunStatus(job.runDir).state, "failed");
    const fs::path last = job.runDir / "checkpoints" / "last.ckpt";
    EXPECT_EQ(loadCheckpoint(last).epoch, 1);
    expectFiniteWeights(last);
}

TEST(TrainerFaults, NanWeightAndBadStepSizeAreNamed)
{
    test::TempDir dir;
    const fs::path data = makeDataset(dir);
    TrainingJob fp;
    fp.runDir = dir / "fp";
    fp.sources.dataFile = data;
    fp.options = smallOptions(1);
    fp.afterBatch = [&](torch::nn::Module& network, int64_t globalBatch) {
        if (globalBatch == 0)
            corrupt(network, "module_list.4.conv_4.weight", std::nanf(""));
    };
    const RunSummary nanWeight = Trainer(fp, nullptr).run();
    ASSERT_EQ(nanWeight.outcome, RunOutcome::failed) << nanWeight.message;
    EXPECT_NE(nanWeight.message.find("first non-finite parameter: module_list.4.conv_4.weight"), std::string::npos)
        << nanWeight.message;

    // An fp checkpoint to start LSQ from, then a step size pushed below zero between batches:
    // the step after it reports the quantizer by name.
    fp.runDir = dir / "fp2";
    fp.afterBatch = nullptr;
    ASSERT_EQ(Trainer(fp, nullptr).run().outcome, RunOutcome::finished);
    TrainingJob lsq;
    lsq.runDir = dir / "lsq";
    lsq.sources.dataFile = data;
    lsq.sources.quantFile = fs::path(TYQ_SOURCE_DIR) / "config" / "lsq-3bit.yaml";
    lsq.sources.initWeights = dir / "fp2" / "checkpoints" / "last.ckpt";
    lsq.options = smallOptions(2).set_learningRate(1e-6);
    lsq.afterBatch = [&](torch::nn::Module& network, int64_t globalBatch) {
        if (globalBatch == 2)
            corrupt(network, "module_list.2.conv_2.quan_w_fn.s", -0.5f);
    };
    const RunSummary badStep = Trainer(lsq, nullptr).run();
    ASSERT_EQ(badStep.outcome, RunOutcome::failed) << badStep.message;
    EXPECT_NE(badStep.message.find("module_list.2.conv_2.quan_w_fn"), std::string::npos) << badStep.message;
    EXPECT_EQ(loadCheckpoint(lsq.runDir / "checkpoints" / "last.ckpt").epoch, 1);
}

double residentMb()
{
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

#if defined(__SANITIZE_ADDRESS__)
#define TYQ_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TYQ_UNDER_ASAN 1
#endif
#endif

TEST(TrainerLongRun, MemoryStaysFlatOverManyBatches)
{
#ifdef TYQ_UNDER_ASAN
    GTEST_SKIP() << "AddressSanitizer's quarantine holds freed memory on purpose";
#endif
    // 216 batches through the whole trainer (loader, run folder, checkpoints each epoch): the
    // mean RSS of the last quarter stays within 10% (or 48 MB) of the first quarter's.
    test::TempDir dir;
    TrainingJob job;
    job.runDir = dir / "run";
    job.sources.dataFile = makeDataset(dir, 16);
    job.options = smallOptions(27).set_batchSize(2).set_inputWidth(64).set_inputHeight(64).set_flip(true);
    std::vector<double> rss;
    job.afterBatch = [&](torch::nn::Module&, int64_t globalBatch) {
        if (globalBatch >= 8) // after a warm-up epoch
            rss.push_back(residentMb());
    };
    const RunSummary summary = Trainer(job, nullptr).run();
    ASSERT_EQ(summary.outcome, RunOutcome::finished) << summary.message;
    ASSERT_EQ(rss.size(), 208u);
    const size_t quarter = rss.size() / 4;
    double first = 0, last = 0;
    for (size_t i = 0; i < quarter; ++i) {
        first += rss[i] / quarter;
        last += rss[rss.size() - 1 - i] / quarter;
    }
    RecordProperty("first_quarter_mb", std::to_string(first));
    RecordProperty("last_quarter_mb", std::to_string(last));
    EXPECT_LE(last, first + std::max(48.0, 0.1 * first)) << "RSS grew from " << first << " MB to " << last << " MB";
}

} // namespace
} // namespace tyq
