// Box IoU with the reference's +1 pixel convention and its merging NMS, on boxes small enough
// to check by hand.
#include "eval/detection.h"
#include "eval/nms.h"

#include "common/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace tyq {
namespace {

// One decoded prediction row: cx, cy, w, h, objectness, then the class scores.
std::vector<float> row(float cx, float cy, float w, float h, float objectness, std::vector<float> classScores)
{
    std::vector<float> r = {cx, cy, w, h, objectness};
    r.insert(r.end(), classScores.begin(), classScores.end());
    return r;
}

std::vector<float> concat(const std::vector<std::vector<float>>& rows)
{
    std::vector<float> all;
    for (const auto& r : rows)
        all.insert(all.end(), r.begin(), r.end());
    return all;
}

std::vector<Detection> nms(const std::vector<std::vector<float>>& rows, int numClasses, float conf = 0.5f,
                           float nmsThreshold = 0.5f)
{
    const std::vector<float> data = concat(rows);
    return nonMaxSuppression(data.data(), static_cast<int64_t>(rows.size()), numClasses, conf, nmsThreshold);
}

TEST(BoxIou, IdenticalBoxesOverlapCompletely)
{
    EXPECT_FLOAT_EQ(boxIouPlusOne(0, 0, 9, 9, 0, 0, 9, 9), 1.0f);
}

TEST(BoxIou, PlusOneConventionOnPartialOverlap)
{
    // 10x10 boxes (0..9 is ten pixels) sharing a 5x5 corner: 25 / (100 + 100 - 25).
    EXPECT_FLOAT_EQ(boxIouPlusOne(0, 0, 9, 9, 5, 5, 14, 14), 25.0f / 175.0f);
}

TEST(BoxIou, SharedEdgePixelColumnCounts)
{
    // x = 9 belongs to both boxes: a 1x10 intersection, 10 / (100 + 100 - 10).
    EXPECT_FLOAT_EQ(boxIouPlusOne(0, 0, 9, 9, 9, 0, 18, 9), 10.0f / 190.0f);
}

TEST(BoxIou, AdjacentAndDisjointBoxesDoNotOverlap)
{
    EXPECT_EQ(boxIouPlusOne(0, 0, 9, 9, 10, 0, 19, 9), 0.0f);
    EXPECT_EQ(boxIouPlusOne(0, 0, 9, 9, 50, 50, 60, 60), 0.0f);
}

TEST(BoxIou, SinglePixelBoxHasAreaOne)
{
    EXPECT_FLOAT_EQ(boxIouPlusOne(3, 3, 3, 3, 3, 3, 3, 3), 1.0f);
    // One pixel inside a 10x10 box: 1 / (1 + 100 - 1).
    EXPECT_FLOAT_EQ(boxIouPlusOne(3, 3, 3, 3, 0, 0, 9, 9), 0.01f);
}

TEST(BoxIou, NanCoordinatesGiveNan)
{
    const float nan = std::numeric_limits<float>::quiet_NaN();
    EXPECT_TRUE(std::isnan(boxIouPlusOne(nan, 0, 9, 9, 0, 0, 9, 9)));
    EXPECT_TRUE(std::isnan(boxIouPlusOne(0, 0, 9, 9, 0, 0, nan, 9)));
}

TEST(ScaleDetections, ScalesXAndYIndependently)
{
    std::vector<Detection> d(1);
    d[0].x1 = 10;
    d[0].y1 = 20;
    d[0].x2 = 30;
    d[0].y2 = 40;
    d[0].objectness = 0.7f;
    scaleDetections(d, 2.0f, 0.5f);
    EXPECT_FLOAT_EQ(d[0].x1, 20);
    EXPECT_FLOAT_EQ(d[0].y1, 10);
    EXPECT_FLOAT_EQ(d[0].x2, 60);
    EXPECT_FLOAT_EQ(d[0].y2, 20);
    EXPECT_FLOAT_EQ(d[0].objectness, 0.7f);
}

TEST(NonMaxSuppression, ConvertsCenterSizeToCorners)
{
    const auto kept = nms({row(50, 30, 20, 10, 0.9f, {0.1f, 0.8f})}, 2);
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_FLOAT_EQ(kept[0].x1, 40);
    EXPECT_FLOAT_EQ(kept[0].y1, 25);
    EXPECT_FLOAT_EQ(kept[0].x2, 60);
    EXPECT_FLOAT_EQ(kept[0].y2, 35);
    EXPECT_FLOAT_EQ(kept[0].objectness, 0.9f);
    EXPECT_FLOAT_EQ(kept[0].classScore, 0.8f);
    EXPECT_EQ(kept[0].classId, 1);
}

TEST(NonMaxSuppression, MergesOverlappingSameClassBoxesByObjectnessWeightedMean)
{
    // Boxes (40,40,60,60) and (42,40,62,60): IoU 399 / 483 = 0.83 > 0.5.
    // x1 = (0.9 * 40 + 0.6 * 42) / 1.5 = 40.8, x2 = (0.9 * 60 + 0.6 * 62) / 1.5 = 60.8.
    // (Weighting by score, 0.72 and 0.54, would give 40.857 instead.)
    const auto kept = nms({row(50, 50, 20, 20, 0.9f, {0.8f, 0.1f}), row(52, 50, 20, 20, 0.6f, {0.9f, 0.2f})}, 2);
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_NEAR(kept[0].x1, 40.8f, 1e-4f);
    EXPECT_NEAR(kept[0].y1, 40.0f, 1e-4f);
    EXPECT_NEAR(kept[0].x2, 60.8f, 1e-4f);
    EXPECT_NEAR(kept[0].y2, 60.0f, 1e-4f);
    // The kept box keeps its own scores, not the merged ones.
    EXPECT_FLOAT_EQ(kept[0].objectness, 0.9f);
    EXPECT_FLOAT_EQ(kept[0].classScore, 0.8f);
    EXPECT_EQ(kept[0].classId, 0);
}

TEST(NonMaxSuppression, DifferentClassesAreNotMerged)
{
    const auto kept = nms({row(50, 50, 20, 20, 0.9f, {0.8f, 0.1f}), row(52, 50, 20, 20, 0.6f, {0.1f, 0.9f})}, 2);
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_EQ(kept[0].classId, 0);
    EXPECT_FLOAT_EQ(kept[0].x1, 40);
    EXPECT_FLOAT_EQ(kept[0].x2, 60);
    EXPECT_EQ(kept[1].classId, 1);
    EXPECT_FLOAT_EQ(kept[1].x1, 42);
    EXPECT_FLOAT_EQ(kept[1].x2, 62);
}

TEST(NonMaxSuppression, OverlapAtOrBelowThresholdIsKept)
{
    // IoU 25 / 175 = 0.14: suppressed at threshold 0.1, kept at 0.5.
    const std::vector<std::vector<float>> rows = {row(4.5f, 4.5f, 9, 9, 0.9f, {1.0f}),
                                                  row(9.5f, 9.5f, 9, 9, 0.8f, {1.0f})};
    EXPECT_EQ(nms(rows, 1, 0.5f, 0.5f).size(), 2u);
    EXPECT_EQ(nms(rows, 1, 0.5f, 0.1f).size(), 1u);
}

TEST(NonMaxSuppression, SuppressesOnlyAgainstTheKeptBox)
{
    // A overlaps B, B overlaps C, A does not overlap C: A absorbs B, and C survives because
    // the removed B never suppresses anything.
    // IoU(A, B) = IoU(B, C) = 315 / 567 = 0.56, IoU(A, C) = 189 / 693 = 0.27.
    const auto kept = nms({row(50, 50, 20, 20, 0.9f, {1.0f}), row(56, 50, 20, 20, 0.8f, {1.0f}),
                           row(62, 50, 20, 20, 0.7f, {1.0f})},
                          1);
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_FLOAT_EQ(kept[0].objectness, 0.9f);
    EXPECT_FLOAT_EQ(kept[1].objectness, 0.7f);
    EXPECT_FLOAT_EQ(kept[1].x1, 52);
}

TEST(NonMaxSuppression, ConfidenceThresholdIsInclusive)
{
    const auto kept = nms({row(10, 10, 4, 4, 0.5f, {1.0f}), row(100, 100, 4, 4, 0.4999f, {1.0f})}, 1, 0.5f);
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_FLOAT_EQ(kept[0].objectness, 0.5f);
}

TEST(NonMaxSuppression, OrdersByObjectnessTimesClassScore)
{
    // Far apart, so nothing merges. Scores: 0.9 * 0.5 = 0.45, 0.6 * 0.9 = 0.54, 0.7 * 0.7 = 0.49.
    const auto kept = nms({row(10, 10, 4, 4, 0.9f, {0.5f}), row(100, 100, 4, 4, 0.6f, {0.9f}),
                           row(200, 200, 4, 4, 0.7f, {0.7f})},
                          1);
    ASSERT_EQ(kept.size(), 3u);
    EXPECT_FLOAT_EQ(kept[0].objectness, 0.6f);
    EXPECT_FLOAT_EQ(kept[1].objectness, 0.7f);
    EXPECT_FLOAT_EQ(kept[2].objectness, 0.9f);
}

TEST(NonMaxSuppression, KeepsGlobalScoreOrderAcrossClasses)
{
    // Scores 0.7 (class 1), 0.8 (class 0), 0.9 (class 1), 0.8 (class 0, a tie: row order).
    const auto kept = nms({row(10, 10, 4, 4, 0.7f, {0.0f, 1.0f}), row(100, 100, 4, 4, 0.8f, {1.0f, 0.0f}),
                           row(200, 200, 4, 4, 0.9f, {0.0f, 1.0f}), row(300, 10, 4, 4, 0.8f, {1.0f, 0.0f})},
                          2);
    ASSERT_EQ(kept.size(), 4u);
    EXPECT_FLOAT_EQ(kept[0].x1, 198);
    EXPECT_FLOAT_EQ(kept[1].x1, 98);
    EXPECT_FLOAT_EQ(kept[2].x1, 298);
    EXPECT_FLOAT_EQ(kept[3].x1, 8);
    EXPECT_EQ(kept[0].classId, 1);
    EXPECT_EQ(kept[1].classId, 0);
}

TEST(NonMaxSuppression, ClassTieTakesTheFirstClass)
{
    const auto kept = nms({row(10, 10, 4, 4, 0.9f, {0.2f, 0.7f, 0.7f})}, 3);
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_EQ(kept[0].classId, 1);
}

TEST(NonMaxSuppression, EmptyInputGivesNoDetections)
{
    EXPECT_TRUE(nonMaxSuppression(nullptr, 0, 12, 0.5f, 0.5f).empty());
    EXPECT_TRUE(nms({row(10, 10, 4, 4, 0.3f, {1.0f})}, 1, 0.5f).empty());
}

TEST(NonMaxSuppression, RejectsNonsenseArguments)
{
    const std::vector<float> r = row(10, 10, 4, 4, 0.9f, {1.0f});
    EXPECT_THROW(nonMaxSuppression(r.data(), 1, 0, 0.5f, 0.5f), Error);
    EXPECT_THROW(nonMaxSuppression(nullptr, 3, 1, 0.5f, 0.5f), Error);
}

TEST(NonMaxSuppression, ThresholdOneStillTerminates)
{
    // IoU(R, R) = 1 is not > 1, so the reference would never remove R; tyq keeps each box once.
    const auto kept = nms({row(10, 10, 4, 4, 0.9f, {1.0f}), row(10, 10, 4, 4, 0.8f, {1.0f})}, 1, 0.5f, 1.0f);
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_FLOAT_EQ(kept[0].objectness, 0.9f);
    EXPECT_FLOAT_EQ(kept[1].objectness, 0.8f);
}

TEST(NonMaxSuppression, NanInputNeitherCrashesNorLoops)
{
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const auto kept = nms({row(10, 10, 4, 4, nan, {1.0f, 0.0f}),         // dropped: NaN objectness
                           row(nan, 10, 4, 4, 0.95f, {1.0f, 0.0f}),      // NaN box: kept alone
                           row(50, 50, 4, 4, 0.9f, {nan, 0.5f}),         // NaN score: sorted last
                           row(100, 100, 4, 4, 0.8f, {0.9f, 0.1f})},
                          2);
    ASSERT_EQ(kept.size(), 3u);
    EXPECT_FLOAT_EQ(kept[0].objectness, 0.95f);
    EXPECT_TRUE(std::isnan(kept[0].x1));
    EXPECT_FLOAT_EQ(kept[1].objectness, 0.8f);
    EXPECT_FLOAT_EQ(kept[1].x1, 98);
    EXPECT_FLOAT_EQ(kept[2].objectness, 0.9f);
    EXPECT_TRUE(std::isnan(kept[2].classScore));
    EXPECT_EQ(kept[2].classId, 0);
}

TEST(NonMaxSuppression, ManyIdenticalBoxesCollapseToOne)
{
    std::vector<std::vector<float>> rows;
    for (int i = 0; i < 3000; ++i)
        rows.push_back(row(100, 100, 20, 20, 0.6f + 0.0001f * (i % 100), {1.0f}));
    const auto kept = nms(rows, 1);
    ASSERT_EQ(kept.size(), 1u);
    // Float accumulation over 3000 rows, as the reference's float32 sum.
    EXPECT_NEAR(kept[0].x1, 90.0f, 0.02f);
    EXPECT_NEAR(kept[0].x2, 110.0f, 0.02f);
}

} // namespace
} // namespace tyq
