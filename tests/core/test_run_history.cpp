// A run folder's history read back: what RunFolder wrote per batch and per evaluation comes
// back as the reports a live run sent, so the studio redraws a recorded run as it was seen.
#include "test_support.h"

#include "common/csv_table.h"
#include "train/run_folder.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tyq {
namespace {

BatchReport batch(int64_t epoch, int64_t inEpoch, double loss)
{
    BatchReport b;
    b.epoch = epoch;
    b.batchInEpoch = inEpoch;
    b.batchesPerEpoch = 3;
    b.globalBatch = epoch * 3 + inEpoch;
    b.images = 4;
    b.loss = loss;
    b.x = 0.5;
    b.confNoobj = 0.0125;
    b.learningRate = 1e-3;
    b.seconds = 0.25;
    b.stepSizes = {{"module_list.0.conv_0.quan_w_fn", 0.0625 + epoch}, {"module_list.2.conv_2.quan_a_fn", 0.5}};
    return b;
}

TEST(RunHistory, ReadsBackWhatTheRunFolderWrote)
{
    test::TempDir dir;
    {
        RunFolder folder(dir / "run", false);
        folder.prepareTables({"module_list.0.conv_0.quan_w_fn", "module_list.2.conv_2.quan_a_fn"}, {"boat", "car"}, 0, 0);
        for (int64_t e = 0; e < 2; ++e)
            for (int64_t k = 0; k < 3; ++k)
                folder.appendBatch(batch(e, k, 10.0 - (3 * e + k)));
        EvalReport r;
        r.epoch = 2;
        r.metrics.mAP = 0.75;
        r.metrics.referenceIoU = 0.5;
        r.metrics.contestIoU = 0.625;
        r.metrics.perClass = {{1, 3, 3, 0.75, 1.0, 1.0, 1.0}}; // only "car" is in the truth
        folder.appendEpoch(r, 8.5, 1.5);
    }
    const RunHistory h = readRunHistory(dir / "run");
    EXPECT_EQ(h.start.batchesPerEpoch, 3);
    EXPECT_EQ(h.start.quantizers,
              (std::vector<std::string>{"module_list.0.conv_0.quan_w_fn", "module_list.2.conv_2.quan_a_fn"}));
    ASSERT_EQ(h.batches.size(), 6u);
    const BatchReport& b = h.batches[4];
    EXPECT_EQ(b.epoch, 1);
    EXPECT_EQ(b.batchInEpoch, 1);
    EXPECT_EQ(b.globalBatch, 4);
    EXPECT_EQ(b.batchesPerEpoch, 3);
    EXPECT_EQ(b.images, 4);
    EXPECT_DOUBLE_EQ(b.loss, 6.0);
    EXPECT_DOUBLE_EQ(b.x, 0.5);
    EXPECT_DOUBLE_EQ(b.confNoobj, 0.0125);
    EXPECT_DOUBLE_EQ(b.learningRate, 1e-3);
    ASSERT_EQ(b.stepSizes.size(), 2u);
    EXPECT_EQ(b.stepSizes[0].name, "module_list.0.conv_0.quan_w_fn");
    EXPECT_DOUBLE_EQ(b.stepSizes[0].value, 1.0625);
    ASSERT_EQ(h.evaluations.size(), 1u);
    const EvalReport& e = h.evaluations[0];
    EXPECT_EQ(e.epoch, 2);
    EXPECT_DOUBLE_EQ(e.metrics.mAP, 0.75);
    EXPECT_DOUBLE_EQ(e.metrics.contestIoU, 0.625);
    ASSERT_EQ(e.metrics.perClass.size(), 1u);
    EXPECT_EQ(e.metrics.perClass[0].classId, 1);
    EXPECT_DOUBLE_EQ(e.metrics.perClass[0].ap, 0.75);
}

TEST(RunHistory, ARunWithoutEvaluationsOrBatchesYetIsEmpty)
{
    test::TempDir dir;
    {
        RunFolder folder(dir / "run", false);
        folder.prepareTables({}, {"boat"}, 0, 0);
    }
    const RunHistory h = readRunHistory(dir / "run");
    EXPECT_TRUE(h.batches.empty());
    EXPECT_TRUE(h.evaluations.empty());
    EXPECT_EQ(h.start.batchesPerEpoch, 1);
    EXPECT_CONTAINS(test::errorOf([&] { readRunHistory(dir / "missing"); }), "batches.csv");
}

TEST(RunHistory, AZeroFilledTailAfterACrashIsDroppedLikeATornLine)
{
    // What a power cut can leave at the end of an appended file; resume must still read it.
    test::TempDir dir;
    test::writeText(dir / "batches.csv", "\xEF\xBB\xBF" "epoch,batch\n0,0\n0,1\n" + std::string(64, '\0'));
    const CsvTable table = readCsv(dir / "batches.csv");
    EXPECT_EQ(table.columns, (std::vector<std::string>{"epoch", "batch"}));
    EXPECT_EQ(table.rows.size(), 2u);
    truncateCsv(dir / "batches.csv", 1, 5);
    EXPECT_EQ(test::readBytes(dir / "batches.csv"), "epoch,batch\n0,0\n0,1\n");
}

} // namespace
} // namespace tyq
