// The training input pipeline on its worker threads: batches arrive in order and equal the
// ones built synchronously, whatever the thread count; an epoch restarted while workers are
// busy drops their stale batches; a loader destroyed mid-epoch joins its workers. These are
// also the paths scripts/tsan.sh checks for data races.
#include "data/batch_loader.h"

#include "data/dataset.h"
#include "data/synthetic_dataset.h"
#include "test_support.h"

#include <ATen/ATen.h>

#include <gtest/gtest.h>

namespace tyq {
namespace {

namespace fs = std::filesystem;

std::vector<Sample> smallSamples(const test::TempDir& dir)
{
    SyntheticDatasetOptions o;
    o.outDir = dir / "data";
    o.trainCount = 14;
    o.valCount = 1;
    o.width = 160;
    o.height = 96;
    o.seed = 4;
    const SyntheticDatasetResult r = generateSyntheticDataset(o);
    const DataConfig config = loadDataConfig(r.dataFile);
    DatasetLoadOptions load;
    load.classNames = config.classNames;
    load.strict = true;
    return loadDatasetList(config.trainList, load).samples;
}

BatchLoaderOptions augmented(int threads)
{
    BatchLoaderOptions o;
    o.batchSize = 3;
    o.width = 96;
    o.height = 64;
    o.flip = true;
    o.colorJitter = true;
    o.seed = 11;
    o.threads = threads;
    o.prefetch = 2;
    return o;
}

void expectSameBatch(const Batch& got, const Batch& expected)
{
    EXPECT_EQ(got.index, expected.index);
    EXPECT_EQ(got.sampleIndices, expected.sampleIndices);
    EXPECT_TRUE(at::equal(got.images, expected.images)) << "batch " << got.index;
    EXPECT_TRUE(at::equal(got.targets, expected.targets)) << "batch " << got.index;
}

TEST(BatchLoader, WorkerBatchesArriveInOrderAndEqualSynchronousOnes)
{
    test::TempDir dir;
    const std::vector<Sample> samples = smallSamples(dir);
    ASSERT_EQ(samples.size(), 14u);
    const BatchLoader reference(samples, augmented(1));
    for (int threads : {1, 3}) {
        BatchLoader loader(samples, augmented(threads));
        ASSERT_EQ(loader.batchesPerEpoch(), 5); // 14 images, 3 per batch: the last holds 2
        for (int64_t epoch : {0, 1}) {
            loader.startEpoch(epoch);
            int64_t count = 0;
            while (std::optional<Batch> batch = loader.next()) {
                expectSameBatch(*batch, reference.buildBatch(epoch, count));
                ++count;
            }
            EXPECT_EQ(count, 5) << threads << " threads, epoch " << epoch;
        }
    }
}

TEST(BatchLoader, RestartingAnEpochWhileWorkersAreBusyDropsStaleBatches)
{
    test::TempDir dir;
    const std::vector<Sample> samples = smallSamples(dir);
    BatchLoader loader(samples, augmented(3));
    const BatchLoader reference(samples, augmented(1));
    for (int round = 0; round < 4; ++round) {
        loader.startEpoch(0);
        ASSERT_TRUE(loader.next().has_value()); // workers are now building the next ones
        loader.startEpoch(2, /*firstBatch=*/3); // as a resume mid-epoch does
        std::optional<Batch> batch = loader.next();
        ASSERT_TRUE(batch.has_value());
        expectSameBatch(*batch, reference.buildBatch(2, 3));
        batch = loader.next();
        ASSERT_TRUE(batch.has_value());
        expectSameBatch(*batch, reference.buildBatch(2, 4));
        EXPECT_FALSE(loader.next().has_value());
    }
}

TEST(BatchLoader, DestroyedMidEpochJoinsItsWorkers)
{
    test::TempDir dir;
    const std::vector<Sample> samples = smallSamples(dir);
    for (int round = 0; round < 5; ++round) {
        BatchLoader loader(samples, augmented(3));
        loader.startEpoch(round);
        ASSERT_TRUE(loader.next().has_value());
    } // the destructor stops workers in the middle of their batches
}

TEST(BatchLoader, AMissingImageIsReportedInItsBatch)
{
    test::TempDir dir;
    std::vector<Sample> samples = smallSamples(dir);
    fs::remove(samples[5].image);
    BatchLoaderOptions o = augmented(2);
    o.shuffle = false;
    BatchLoader loader(samples, o);
    loader.startEpoch(0);
    std::vector<std::string> problems;
    int64_t images = 0;
    while (std::optional<Batch> batch = loader.next()) {
        images += batch->images.size(0);
        problems.insert(problems.end(), batch->problems.begin(), batch->problems.end());
    }
    EXPECT_EQ(images, 13);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_NE(problems[0].find(samples[5].image.string()), std::string::npos) << problems[0];
}

} // namespace
} // namespace tyq
