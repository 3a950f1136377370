// The reference's detection metrics on tiny hand-checked cases: VOC AP, true-positive matching
// (duplicates, wrong classes, its cross-class quirk), the two IoU scores and the printed table.
#include "eval/detection_metrics.h"
#include "eval/nms.h"

#include "common/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace tyq {
namespace {

Detection detection(float x1, float y1, float x2, float y2, float objectness, int classId)
{
    Detection d;
    d.x1 = x1;
    d.y1 = y1;
    d.x2 = x2;
    d.y2 = y2;
    d.objectness = objectness;
    d.classScore = 1.0f;
    d.classId = classId;
    return d;
}

GroundTruth truth(float x1, float y1, float x2, float y2, int classId)
{
    GroundTruth g;
    g.classId = classId;
    g.x1 = x1;
    g.y1 = y1;
    g.x2 = x2;
    g.y2 = y2;
    return g;
}

TEST(AveragePrecision, HandComputedCurve)
{
    // mrec = [0, .5, .5, 1, 1], mpre = [0, 1, .5, 2/3, 0] -> envelope [1, 1, 2/3, 2/3, 0];
    // AP = (.5 - 0) * 1 + (1 - .5) * 2/3 = 0.8333.
    EXPECT_NEAR(averagePrecision({0.5, 0.5, 1.0}, {1.0, 0.5, 2.0 / 3.0}), 0.5 + 0.5 * 2.0 / 3.0, 1e-12);
}

TEST(AveragePrecision, EnvelopeLiftsEarlierPrecision)
{
    // A miss, then both objects found: recall [0, .5, 1], precision [0, .5, 2/3]. The envelope
    // raises the precision at recall .5 to the later 2/3: AP = .5 * 2/3 + .5 * 2/3 = 2/3
    // (without it, .5 * .5 + .5 * 2/3 = 0.583).
    EXPECT_NEAR(averagePrecision({0.0, 0.5, 1.0}, {0.0, 0.5, 2.0 / 3.0}), 2.0 / 3.0, 1e-12);
}

TEST(AveragePrecision, PerfectAndEmptyCurves)
{
    EXPECT_DOUBLE_EQ(averagePrecision({1.0}, {1.0}), 1.0);
    EXPECT_DOUBLE_EQ(averagePrecision({}, {}), 0.0);
    EXPECT_THROW(averagePrecision({1.0}, {}), Error);
}

TEST(DetectionEvaluator, PerfectDetectorScoresOne)
{
    DetectionEvaluator evaluator(3);
    evaluator.addImage({detection(10, 10, 49, 29, 0.9f, 0)}, {truth(10, 10, 49, 29, 0)});
    evaluator.addImage({detection(0, 0, 99, 99, 0.8f, 2)}, {truth(0, 0, 99, 99, 2)});
    const EvaluationResult r = evaluator.result();
    ASSERT_EQ(r.perClass.size(), 2u); // class 1 has no truth: not reported
    EXPECT_EQ(r.perClass[0].classId, 0);
    EXPECT_EQ(r.perClass[1].classId, 2);
    EXPECT_DOUBLE_EQ(r.mAP, 1.0);
    EXPECT_DOUBLE_EQ(r.precision, 1.0);
    EXPECT_DOUBLE_EQ(r.recall, 1.0);
    EXPECT_NEAR(r.f1, 1.0, 1e-12);
    EXPECT_DOUBLE_EQ(r.referenceIoU, 1.0);
    EXPECT_DOUBLE_EQ(r.contestIoU, 1.0);
    EXPECT_EQ(r.images, 2);
    EXPECT_EQ(r.predictions, 2);
    EXPECT_EQ(r.truths, 2);
    EXPECT_EQ(r.perClass[0].numTruths, 1);
    EXPECT_EQ(r.perClass[0].numPredictions, 1);
}

TEST(DetectionEvaluator, PartialOverlapGivesItsIoU)
{
    // 10x10 prediction inside a 10x12 truth: IoU 100 / 120.
    DetectionEvaluator evaluator(1);
    evaluator.addImage({detection(0, 0, 9, 9, 0.9f, 0)}, {truth(0, 0, 9, 11, 0)});
    const EvaluationResult r = evaluator.result();
    EXPECT_DOUBLE_EQ(r.mAP, 1.0);
    EXPECT_NEAR(r.referenceIoU, 100.0 / 120.0, 1e-6);
    EXPECT_NEAR(r.contestIoU, 100.0 / 120.0, 1e-6);
}

TEST(DetectionEvaluator, IoUBelowThresholdIsFalsePositive)
{
    // IoU 25 / 175 = 0.14 < 0.5: no AP, no reference IoU, but the contest still scores the overlap.
    DetectionEvaluator evaluator(1, 0.5f);
    evaluator.addImage({detection(5, 5, 14, 14, 0.9f, 0)}, {truth(0, 0, 9, 9, 0)});
    const EvaluationResult r = evaluator.result();
    EXPECT_DOUBLE_EQ(r.mAP, 0.0);
    EXPECT_DOUBLE_EQ(r.perClass[0].precision, 0.0);
    EXPECT_DOUBLE_EQ(r.referenceIoU, 0.0);
    EXPECT_NEAR(r.contestIoU, 25.0 / 175.0, 1e-6);

    DetectionEvaluator lenient(1, 0.1f);
    lenient.addImage({detection(5, 5, 14, 14, 0.9f, 0)}, {truth(0, 0, 9, 9, 0)});
    EXPECT_DOUBLE_EQ(lenient.result().mAP, 1.0);
}

TEST(DetectionEvaluator, WrongClassScoresZeroForTheTruthClass)
{
    DetectionEvaluator evaluator(2);
    evaluator.addImage({detection(0, 0, 9, 9, 0.9f, 1)}, {truth(0, 0, 9, 9, 0)});
    const EvaluationResult r = evaluator.result();
    ASSERT_EQ(r.perClass.size(), 1u); // the predicted class 1 has no truth
    EXPECT_EQ(r.perClass[0].classId, 0);
    EXPECT_EQ(r.perClass[0].numPredictions, 0);
    EXPECT_DOUBLE_EQ(r.perClass[0].ap, 0.0);
    EXPECT_DOUBLE_EQ(r.mAP, 0.0);
    EXPECT_DOUBLE_EQ(r.referenceIoU, 0.0);
    // The contest scores the box alone, whatever its class.
    EXPECT_DOUBLE_EQ(r.contestIoU, 1.0);
}

TEST(DetectionEvaluator, DuplicateDetectionIsFalsePositive)
{
    // Two objects of class 0; the first is detected twice. tp = [1, 0, 1]:
    // recall [.5, .5, 1], precision [1, .5, 2/3] -> AP 0.8333 (the AveragePrecision case above).
    DetectionEvaluator evaluator(1);
    evaluator.addImage({detection(0, 0, 9, 9, 0.9f, 0), detection(0, 0, 9, 9, 0.8f, 0),
                        detection(100, 100, 109, 109, 0.7f, 0)},
                       {truth(0, 0, 9, 9, 0), truth(100, 100, 109, 109, 0)});
    const EvaluationResult r = evaluator.result();
    ASSERT_EQ(r.perClass.size(), 1u);
    EXPECT_NEAR(r.perClass[0].ap, 0.5 + 0.5 * 2.0 / 3.0, 1e-12);
    EXPECT_NEAR(r.perClass[0].precision, 2.0 / 3.0, 1e-12);
    EXPECT_NEAR(r.perClass[0].recall, 1.0, 1e-12);
    EXPECT_NEAR(r.perClass[0].f1, 0.8, 1e-12);
    EXPECT_NEAR(r.referenceIoU, 2.0 / 3.0, 1e-12);
    EXPECT_EQ(r.perClass[0].numPredictions, 3);
}

TEST(DetectionEvaluator, PredictionsAfterAllObjectsFoundAreFalsePositives)
{
    // One object: the second (identical) box is a false positive -> P 1/2, R 1, AP 1, IoU (1 + 0) / 2.
    DetectionEvaluator evaluator(1);
    evaluator.addImage({detection(0, 0, 9, 9, 0.9f, 0), detection(0, 0, 9, 9, 0.8f, 0)}, {truth(0, 0, 9, 9, 0)});
    const EvaluationResult r = evaluator.result();
    EXPECT_DOUBLE_EQ(r.perClass[0].ap, 1.0);
    EXPECT_DOUBLE_EQ(r.perClass[0].precision, 0.5);
    EXPECT_NEAR(r.perClass[0].f1, 2.0 / 3.0, 1e-12);
    EXPECT_DOUBLE_EQ(r.referenceIoU, 0.5);
}

TEST(DetectionEvaluator, ClassWithoutPredictionsCountsAsZeroInMAP)
{
    // Image 1: class 0 found exactly. Image 2: a class-1 object and no prediction at all.
    DetectionEvaluator evaluator(2);
    evaluator.addImage({detection(0, 0, 9, 9, 0.9f, 0)}, {truth(0, 0, 9, 9, 0)});
    evaluator.addImage({}, {truth(20, 20, 39, 39, 1)});
    const EvaluationResult r = evaluator.result();
    ASSERT_EQ(r.perClass.size(), 2u);
    EXPECT_DOUBLE_EQ(r.perClass[0].ap, 1.0);
    EXPECT_DOUBLE_EQ(r.perClass[1].ap, 0.0);
    EXPECT_EQ(r.perClass[1].numTruths, 1);
    EXPECT_EQ(r.perClass[1].numPredictions, 0);
    EXPECT_DOUBLE_EQ(r.mAP, 0.5);
    EXPECT_DOUBLE_EQ(r.recall, 0.5);
    // The reference IoU averages over predictions (one, exact); the contest over images (1 and 0).
    EXPECT_DOUBLE_EQ(r.referenceIoU, 1.0);
    EXPECT_DOUBLE_EQ(r.contestIoU, 0.5);
}

TEST(DetectionEvaluator, ContestIoUUsesOnlyTheTopBox)
{
    // The best-scoring box misses (IoU 0), the second hits exactly: contest 0, reference (0 + 1) / 2.
    DetectionEvaluator evaluator(1);
    evaluator.addImage({detection(50, 50, 59, 59, 0.9f, 0), detection(0, 0, 9, 9, 0.8f, 0)}, {truth(0, 0, 9, 9, 0)});
    const EvaluationResult r = evaluator.result();
    EXPECT_DOUBLE_EQ(r.contestIoU, 0.0);
    EXPECT_DOUBLE_EQ(r.referenceIoU, 0.5);
}

TEST(DetectionEvaluator, RanksPredictionsAcrossImagesByObjectness)
{
    // Image 1: a miss at objectness 0.6; image 2: a hit at 0.9. Ranked, tp = [1, 0]: AP 0.5.
    // In insertion order (tp = [0, 1]) it would be 0.25.
    DetectionEvaluator evaluator(1);
    evaluator.addImage({detection(50, 50, 59, 59, 0.6f, 0)}, {truth(0, 0, 9, 9, 0)});
    evaluator.addImage({detection(0, 0, 9, 9, 0.9f, 0)}, {truth(0, 0, 9, 9, 0)});
    EXPECT_NEAR(evaluator.result().mAP, 0.5, 1e-12);
}

TEST(DetectionEvaluator, MatchesAnyClassOnceTheClassIsInTheImage)
{
    // The reference's quirk, kept for comparable numbers: a class-0 box lying on the image's
    // class-1 object counts as a true positive because the image also has a class-0 object.
    DetectionEvaluator evaluator(2);
    evaluator.addImage({detection(100, 100, 109, 109, 0.9f, 0)},
                       {truth(0, 0, 9, 9, 0), truth(100, 100, 109, 109, 1)});
    const EvaluationResult r = evaluator.result();
    ASSERT_EQ(r.perClass.size(), 2u);
    EXPECT_DOUBLE_EQ(r.perClass[0].ap, 1.0);
    EXPECT_DOUBLE_EQ(r.perClass[1].ap, 0.0);
    EXPECT_DOUBLE_EQ(r.referenceIoU, 1.0);
}

TEST(DetectionEvaluator, PredictionsInImagesWithoutObjectsAreFalsePositives)
{
    DetectionEvaluator evaluator(1);
    evaluator.addImage({detection(0, 0, 9, 9, 0.95f, 0)}, {});
    evaluator.addImage({detection(0, 0, 9, 9, 0.9f, 0)}, {truth(0, 0, 9, 9, 0)});
    const EvaluationResult r = evaluator.result();
    // tp = [0, 1] after ranking: recall [0, 1], precision [0, .5] -> AP .5.
    EXPECT_NEAR(r.mAP, 0.5, 1e-12);
    EXPECT_DOUBLE_EQ(r.referenceIoU, 0.5);
    EXPECT_DOUBLE_EQ(r.contestIoU, 0.5); // the image without objects scores 0
}

TEST(DetectionEvaluator, NothingAddedGivesZeros)
{
    const EvaluationResult r = DetectionEvaluator(12).result();
    EXPECT_TRUE(r.perClass.empty());
    EXPECT_DOUBLE_EQ(r.mAP, 0.0);
    EXPECT_DOUBLE_EQ(r.referenceIoU, 0.0);
    EXPECT_DOUBLE_EQ(r.contestIoU, 0.0);
    EXPECT_EQ(r.images, 0);
}

TEST(DetectionEvaluator, RejectsClassIdsOutOfRange)
{
    EXPECT_THROW(DetectionEvaluator(0), Error);
    DetectionEvaluator evaluator(2);
    EXPECT_THROW(evaluator.addImage({}, {truth(0, 0, 9, 9, 2)}), Error);
    EXPECT_THROW(evaluator.addImage({detection(0, 0, 9, 9, 0.9f, -1)}, {}), Error);
    EXPECT_EQ(evaluator.result().images, 0);
}

TEST(DetectionEvaluator, NanPredictionsNeitherCrashNorPoisonTheScores)
{
    const float nan = std::numeric_limits<float>::quiet_NaN();
    DetectionEvaluator evaluator(1);
    evaluator.addImage({detection(nan, nan, nan, nan, 0.9f, 0), detection(0, 0, 9, 9, nan, 0)},
                       {truth(0, 0, 9, 9, 0)});
    // And straight from a diverged network through NMS.
    const float rows[] = {nan, nan, nan, nan, nan, nan,            // dropped: NaN objectness
                          100, 100, 1, 1, 0.9f, nan,               // kept: NaN class score, far away
                          nan, nan, nan, nan, 0.8f, nan};          // kept: NaN box
    evaluator.addImage(nonMaxSuppression(rows, 3, 1, 0.5f, 0.5f), {truth(0, 0, 9, 9, 0)});
    const EvaluationResult r = evaluator.result();
    EXPECT_EQ(r.predictions, 4);
    // Ranked by objectness with NaN last: 0.9 FP, 0.9 FP, 0.8 FP, then the exact box (TP):
    // one of the two objects found, so recall reaches 1/2 at precision 1/4: AP = 0.125.
    EXPECT_NEAR(r.perClass[0].ap, 0.125, 1e-12);
    EXPECT_DOUBLE_EQ(r.referenceIoU, 0.25);
    EXPECT_DOUBLE_EQ(r.contestIoU, 0.0);
    EXPECT_TRUE(std::isfinite(r.mAP));
}

TEST(FormatEvaluationTable, WidensNameColumnAndFallsBackToIds)
{
    EvaluationResult r;
    ClassMetrics boat;
    boat.classId = 0;
    boat.numTruths = 4;
    boat.numPredictions = 5;
    boat.ap = 0.988571;
    boat.precision = 0.8;
    boat.recall = 1.0;
    boat.f1 = 0.888889;
    ClassMetrics unnamed;
    unnamed.classId = 12;
    unnamed.numTruths = 1;
    r.perClass = {boat, unnamed};
    r.mAP = 0.4942855;
    r.precision = 0.4;
    r.recall = 0.5;
    r.f1 = 0.4444445;
    r.referenceIoU = 0.82589;
    r.contestIoU = 0.8;
    r.images = 5;
    r.truths = 5;
    r.predictions = 5;

    const std::string expected =
        "+-------+-----------------+---------+-----------+---------+---------+--------+-------------+\n"
        "| Index | Class name      | AP      | Precision | Recall  | F1      | Truths | Predictions |\n"
        "+-------+-----------------+---------+-----------+---------+---------+--------+-------------+\n"
        "| 0     | boat-and-more-x | 0.98857 | 0.80000   | 1.00000 | 0.88889 | 4      | 5           |\n"
        "| 12    | 12              | 0.00000 | 0.00000   | 0.00000 | 0.00000 | 1      | 0           |\n"
        "+-------+-----------------+---------+-----------+---------+---------+--------+-------------+\n"
        "mAP 0.49429  IoU 0.82589  contest IoU 0.80000  P 0.40000  R 0.50000  F1 0.44444\n"
        "5 images, 5 objects, 5 predictions\n";
    EXPECT_EQ(formatEvaluationTable(r, {"boat-and-more-x", "building"}), expected);
}

} // namespace
} // namespace tyq
