// Training end to end on a tiny synthetic dataset: learning (overfit fp, then LSQ from it),
// exact resume after a stop mid-epoch, the run folder's files, bad data, divergence.
#include "test_support.h"

#include "common/csv_table.h"
#include "data/synthetic_dataset.h"
#include "io/checkpoint.h"
#include "io/state_dict.h"
#include "model/model_loader.h"
#include "train/run_folder.h"
#include "train/trainer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>

namespace tyq {
namespace {

// One small dataset for the whole binary: 32 images, validation = the same images (overfitting).
const std::filesystem::path& toyDataset()
{
    static test::TempDir dir;
    static const std::filesystem::path data = [] {
        SyntheticDatasetOptions o;
        o.outDir = dir.path();
        o.trainCount = 32;
        o.valCount = 8;
        o.seed = 11;
        generateSyntheticDataset(o);
        test::writeText(dir / "overfit.data", "classes=12\ntrain=train.txt\nvalid=train.txt\nnames=dac.names\n");
        return dir / "overfit.data";
    }();
    return data;
}

TrainOptions toyOptions(int epochs)
{
    TrainOptions o;
    o.set_epochs(epochs).set_batchSize(4).set_gradientAccumulation(1).set_inputWidth(256).set_inputHeight(160);
    o.set_evalInterval(epochs).set_checkpointInterval(1000).set_loaderThreads(2);
    return o;
}

class StopAt : public TrainingObserver {
public:
    StopAt(int64_t globalBatch) : stopAt_(globalBatch) {}
    Trainer* trainer = nullptr;
    std::vector<BatchReport> batches;
    std::vector<EvalReport> evals;
    std::vector<std::string> warnings;
    RunStart start;
    void runStarted(const RunStart& s) override { start = s; }
    void batchDone(const BatchReport& r) override
    {
        batches.push_back(r);
        if (r.globalBatch == stopAt_ && trainer)
            trainer->requestStop();
    }
    void evaluationDone(const EvalReport& r) override { evals.push_back(r); }
    void log(LogLevel level, const std::string& m) override
    {
        if (level != LogLevel::info)
            warnings.push_back(m);
    }

private:
    int64_t stopAt_;
};

StateDict weightsOf(const std::filesystem::path& checkpoint)
{
    return loadCheckpoint(checkpoint).model;
}

void expectSameWeights(const StateDict& a, const StateDict& b)
{
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(a[i].first, b[i].first);
        EXPECT_TRUE(at::equal(a[i].second, b[i].second)) << a[i].first << " differs";
    }
}

TEST(Trainer, OverfitsTinyDatasetThenLsqKeepsAccuracy)
{
    test::TempDir runs;
    TrainingJob fp;
    fp.runDir = runs / "fp";
    fp.sources.dataFile = toyDataset();
    fp.options = toyOptions(80).set_evalInterval(10);
    StopAt fpObserver(-1);
    const RunSummary fpSummary = Trainer(fp, &fpObserver).run();
    ASSERT_EQ(fpSummary.outcome, RunOutcome::finished) << fpSummary.message;
    ASSERT_FALSE(fpObserver.evals.empty());
    EXPECT_GE(fpSummary.bestMap, 0.9) << "fp training did not fit 32 images";

    TrainingJob lsq;
    lsq.runDir = runs / "lsq";
    lsq.sources.dataFile = toyDataset();
    lsq.sources.quantFile = std::filesystem::path(TYQ_SOURCE_DIR) / "config" / "lsq-3bit.yaml";
    lsq.sources.initWeights = runs / "fp" / "checkpoints" / "best.ckpt";
    lsq.options = toyOptions(20).set_evalInterval(5).set_activationStepInit(ActivationStepInit::data);
    StopAt lsqObserver(-1);
    const RunSummary lsqSummary = Trainer(lsq, &lsqObserver).run();
    ASSERT_EQ(lsqSummary.outcome, RunOutcome::finished) << lsqSummary.message;
    EXPECT_GE(lsqSummary.bestMap, 0.8) << "3-bit LSQ lost the fp accuracy";
    // Step sizes are reported per batch for every enabled quantizer (layer 0's input is not quantized).
    ASSERT_FALSE(lsqObserver.batches.empty());
    EXPECT_EQ(lsqObserver.batches.front().stepSizes.size(), 19u);
    EXPECT_EQ(lsqObserver.start.phase, "lsq");

    // The LSQ checkpoint runs as a quantized model with its recorded cfg and bit-widths.
    LoadedModel model = loadModel({"", "", runs / "lsq" / "checkpoints" / "best.ckpt"});
    EXPECT_TRUE(model.network->quantized());
}

TEST(Trainer, StopMidEpochThenResumeMatchesAnUninterruptedRun)
{
    test::TempDir runs;
    TrainingJob straight;
    straight.runDir = runs / "straight";
    straight.sources.dataFile = toyDataset();
    straight.options = toyOptions(2).set_gradientAccumulation(2).set_evalInterval(1);
    ASSERT_EQ(Trainer(straight, nullptr).run().outcome, RunOutcome::finished);

    TrainingJob interrupted = straight;
    interrupted.runDir = runs / "interrupted";
    StopAt stopper(4); // epoch 0 has 8 batches; stop after the fifth, mid accumulation cycle
    Trainer first(interrupted, &stopper);
    stopper.trainer = &first;
    const RunSummary stopped = first.run();
    ASSERT_EQ(stopped.outcome, RunOutcome::stopped) << stopped.message;
    const TrainingCheckpoint partial = loadCheckpoint(runs / "interrupted" / "checkpoints" / "last.ckpt");
    EXPECT_EQ(partial.epoch, 0);
    EXPECT_EQ(partial.batchInEpoch, 5);
    EXPECT_EQ(partial.globalBatch, 5);
    EXPECT_FALSE(partial.pendingGradients.empty()); // the half-accumulated gradient is kept
    EXPECT_EQ(readRunStatus(runs / "interrupted").state, "stopped");

    TrainingJob resume;
    resume.runDir = runs / "interrupted";
    resume.resume = true;
    StopAt resumeObserver(-1);
    const RunSummary resumed = Trainer(resume, &resumeObserver).run();
    ASSERT_EQ(resumed.outcome, RunOutcome::finished) << resumed.message;
    EXPECT_TRUE(resumeObserver.start.resumed);
    EXPECT_EQ(resumeObserver.batches.front().globalBatch, 5);

    expectSameWeights(weightsOf(runs / "straight" / "checkpoints" / "last.ckpt"),
                      weightsOf(runs / "interrupted" / "checkpoints" / "last.ckpt"));
    // The batch log has each batch once, in order, as if never interrupted.
    const CsvTable a = readCsv(runs / "straight" / "batches.csv");
    const CsvTable b = readCsv(runs / "interrupted" / "batches.csv");
    ASSERT_EQ(a.rows.size(), 16u);
    ASSERT_EQ(b.rows.size(), 16u);
    EXPECT_EQ(a.values("loss"), b.values("loss"));
    EXPECT_EQ(readCsv(runs / "interrupted" / "epochs.csv").rows.size(), 2u);

    // Resume may extend the run.
    TrainingJob longer = resume;
    longer.resumeEpochs = 3;
    ASSERT_EQ(Trainer(longer, nullptr).run().outcome, RunOutcome::finished);
    EXPECT_EQ(loadCheckpoint(runs / "interrupted" / "checkpoints" / "last.ckpt").epoch, 3);
    EXPECT_EQ(readCsv(runs / "interrupted" / "batches.csv").rows.size(), 24u);
}

TEST(Trainer, RunFolderHoldsEverythingTheRunUsedAndProduced)
{
    test::TempDir runs;
    TrainingJob job;
    job.runDir = runs / "run";
    job.sources.dataFile = toyDataset();
    job.options = toyOptions(2).set_evalInterval(1).set_checkpointInterval(1);
    ASSERT_EQ(Trainer(job, nullptr).run().outcome, RunOutcome::finished);
    for (const char* file : {"network.cfg", "options.yaml", "run.json", "batches.csv", "epochs.csv", "train.log",
                             "checkpoints/last.ckpt", "checkpoints/best.ckpt", "checkpoints/epoch_0001.ckpt",
                             "checkpoints/epoch_0002.ckpt"})
        EXPECT_TRUE(std::filesystem::exists(job.runDir / file)) << file;
    EXPECT_FALSE(std::filesystem::exists(job.runDir / "quant.yaml")); // fp run

    const TrainOptions recorded = loadTrainOptions(job.runDir / "options.yaml");
    EXPECT_EQ(recorded.batchSize, 4);
    EXPECT_EQ(recorded.inputWidth, 256);
    const CsvTable epochs = readCsv(job.runDir / "epochs.csv");
    ASSERT_EQ(epochs.rows.size(), 2u);
    for (const char* metric : {"map", "iou", "contest_iou", "precision", "recall", "f1"})
        for (double v : epochs.values(metric))
            EXPECT_TRUE(v >= 0 && v <= 1) << metric << " = " << v;
    EXPECT_GE(epochs.column("ap:whale"), 0);
    const RunStatus status = readRunStatus(job.runDir);
    EXPECT_EQ(status.state, "finished");
    EXPECT_EQ(status.phase, "fp");
    EXPECT_EQ(status.epochsDone, 2);

    // A second training into the same folder is refused; resuming a finished run is a no-op.
    TrainingJob again = job;
    const RunSummary refused = Trainer(again, nullptr).run();
    EXPECT_EQ(refused.outcome, RunOutcome::failed);
    EXPECT_NE(refused.message.find("already holds a run"), std::string::npos) << refused.message;
}

TEST(Trainer, BadLabelsAndImagesAreSkippedOrFatalWhenStrict)
{
    test::TempDir dir;
    const std::filesystem::path base = toyDataset().parent_path();
    // A list with the good images plus a bad label and an unreadable image.
    std::ifstream in(base / "train.txt");
    std::string list((std::istreambuf_iterator<char>(in)), {});
    test::writeText(dir / "images" / "broken.jpg", "not a jpeg");
    test::writeText(dir / "labels" / "broken.txt", "3 0.5 0.5 0.1 0.1\n");
    test::writeText(dir / "images" / "badlabel.jpg", "whatever");
    test::writeText(dir / "labels" / "badlabel.txt", "42 0.5 0.5 0.1 0.1\n");
    std::string absolute;
    for (const std::string& line : {std::string("images/train/000000.jpg"), std::string("images/train/000001.jpg")})
        absolute += (base / line).string() + "\n";
    test::writeText(dir / "list.txt", absolute + (dir / "images" / "broken.jpg").string() + "\n" +
                                          (dir / "images" / "badlabel.jpg").string() + "\n");
    test::writeText(dir / "bad.data", "classes=12\ntrain=list.txt\nvalid=list.txt\nnames=" + (base / "dac.names").string() + "\n");

    TrainingJob job;
    job.runDir = dir / "run";
    job.sources.dataFile = dir / "bad.data";
    job.options = toyOptions(1);
    StopAt observer(-1);
    const RunSummary summary = Trainer(job, &observer).run();
    ASSERT_EQ(summary.outcome, RunOutcome::finished) << summary.message;
    EXPECT_EQ(observer.start.skippedSamples, 2); // the bad label, in both lists
    EXPECT_EQ(observer.start.trainImages, 3);
    bool namedLabel = false, namedImage = false;
    for (const std::string& w : observer.warnings) {
        namedLabel |= w.find("badlabel.txt:1") != std::string::npos;
        namedImage |= w.find("broken.jpg") != std::string::npos;
    }
    EXPECT_TRUE(namedLabel) << "the bad label's file and line are reported";
    EXPECT_TRUE(namedImage) << "the unreadable image is reported";

    TrainingJob strict = job;
    strict.runDir = dir / "strict";
    strict.options.set_strictData(true);
    const RunSummary failed = Trainer(strict, nullptr).run();
    EXPECT_EQ(failed.outcome, RunOutcome::failed);
    EXPECT_NE(failed.message.find("badlabel.txt:1"), std::string::npos) << failed.message;
}

TEST(Trainer, DivergenceStopsTheRunAndKeepsTheLastGoodCheckpoint)
{
    test::TempDir runs;
    TrainingJob fp;
    fp.runDir = runs / "fp";
    fp.sources.dataFile = toyDataset();
    fp.options = toyOptions(1);
    ASSERT_EQ(Trainer(fp, nullptr).run().outcome, RunOutcome::finished);

    TrainingJob lsq;
    lsq.runDir = runs / "lsq";
    lsq.sources.dataFile = toyDataset();
    lsq.sources.quantFile = std::filesystem::path(TYQ_SOURCE_DIR) / "config" / "lsq-3bit.yaml";
    lsq.sources.initWeights = runs / "fp" / "checkpoints" / "last.ckpt";
    lsq.options = toyOptions(3).set_learningRate(9.0).set_checkpointInterval(1);
    const RunSummary summary = Trainer(lsq, nullptr).run();
    ASSERT_EQ(summary.outcome, RunOutcome::failed);
    EXPECT_NE(summary.message.find("diverged"), std::string::npos) << summary.message;
    EXPECT_EQ(readRunStatus(lsq.runDir).state, "failed");
    // Whatever checkpoint exists holds only finite weights.
    const std::filesystem::path last = lsq.runDir / "checkpoints" / "last.ckpt";
    if (std::filesystem::exists(last))
        for (const auto& [name, t] : weightsOf(last))
            if (t.is_floating_point()) {
                EXPECT_TRUE(at::isfinite(t).all().item<bool>()) << name;
            }
}

TEST(Trainer, LsqWithoutAnFpCheckpointIsRefused)
{
    test::TempDir runs;
    TrainingJob job;
    job.runDir = runs / "lsq";
    job.sources.dataFile = toyDataset();
    job.sources.quantFile = std::filesystem::path(TYQ_SOURCE_DIR) / "config" / "lsq-3bit.yaml";
    job.options = toyOptions(1);
    const RunSummary summary = Trainer(job, nullptr).run();
    EXPECT_EQ(summary.outcome, RunOutcome::failed);
    EXPECT_NE(summary.message.find("--from"), std::string::npos) << summary.message;
}

} // namespace
} // namespace tyq
