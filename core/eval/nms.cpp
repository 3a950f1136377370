#include "eval/nms.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace tyq {
namespace {

// A row that passed the confidence threshold, in corner form, with its best class.
struct Candidate {
    float x1, y1, x2, y2;
    float objectness;
    float classScore;
    int classId;
    float score; // objectness x classScore, the sort key
    int64_t row; // breaks score ties, so the order is total and reproducible
};

// torch's max over the class scores: the first maximum, except that a NaN wins (NaN propagates).
void bestClass(const float* scores, int numClasses, float& bestScore, int& bestId)
{
    bestScore = scores[0];
    bestId = 0;
    for (int c = 1; c < numClasses && !std::isnan(bestScore); ++c) {
        if (scores[c] > bestScore || std::isnan(scores[c])) {
            bestScore = scores[c];
            bestId = c;
        }
    }
}

// The reference's order: best score first, NaN scores last (as torch sorts them), and ties by
// row (its argsort leaves ties unspecified).
bool rankedBefore(float scoreA, int64_t rowA, float scoreB, int64_t rowB)
{
    if (scoreA > scoreB || (std::isnan(scoreB) && !std::isnan(scoreA)))
        return true;
    if (scoreB > scoreA || (std::isnan(scoreA) && !std::isnan(scoreB)))
        return false;
    return rowA < rowB;
}

struct RankedDetection {
    Detection detection;
    float score;
    int64_t row;
};

// Runs the reference's loop over the candidates of one class, already in rank order. The
// candidates in [first, first + count) that are not suppressed yet are compacted to the front
// each round, so the loop allocates nothing.
void suppressClass(Candidate* first, size_t count, float nmsThreshold, std::vector<RankedDetection>& kept)
{
    const bool thresholdIsNonNegative = nmsThreshold >= 0;
    size_t alive = count;
    while (alive > 0) {
        const Candidate best = first[0];
        // The reference counts the best box in its own merge through IoU(best, best) = 1 > threshold.
        // Including it unconditionally gives the same result and cannot loop forever on a NaN box
        // or a threshold >= 1, where the reference would never remove it.
        float weightSum = best.objectness;
        float sx1 = best.objectness * best.x1, sy1 = best.objectness * best.y1;
        float sx2 = best.objectness * best.x2, sy2 = best.objectness * best.y2;
        size_t survivors = 0;
        for (size_t i = 1; i < alive; ++i) {
            const Candidate& c = first[i];
            // Most pairs do not touch at all; their IoU is 0 (or NaN), which never exceeds a
            // threshold >= 0, so the full IoU is skipped for them.
            const bool disjoint = !(std::min(best.x2, c.x2) - std::max(best.x1, c.x1) + 1.0f > 0.0f) ||
                                  !(std::min(best.y2, c.y2) - std::max(best.y1, c.y1) + 1.0f > 0.0f);
            if (!(disjoint && thresholdIsNonNegative) &&
                boxIouPlusOne(best.x1, best.y1, best.x2, best.y2, c.x1, c.y1, c.x2, c.y2) > nmsThreshold) {
                // Summed one by one in float, in rank order: the reference's float32 sums to rounding.
                weightSum += c.objectness;
                sx1 += c.objectness * c.x1;
                sy1 += c.objectness * c.y1;
                sx2 += c.objectness * c.x2;
                sy2 += c.objectness * c.y2;
            } else {
                first[survivors++] = c;
            }
        }
        alive = survivors;

        Detection d;
        if (weightSum > 0) {
            d.x1 = sx1 / weightSum;
            d.y1 = sy1 / weightSum;
            d.x2 = sx2 / weightSum;
            d.y2 = sy2 / weightSum;
        } else {
            // Only with conf <= 0 letting zero objectness through, where the reference divides 0 by 0.
            d.x1 = best.x1;
            d.y1 = best.y1;
            d.x2 = best.x2;
            d.y2 = best.y2;
        }
        d.objectness = best.objectness;
        d.classScore = best.classScore;
        d.classId = best.classId;
        kept.push_back({d, best.score, best.row});
    }
}

} // namespace

std::vector<Detection> nonMaxSuppression(const float* rows, int64_t numRows, int numClasses, float confThreshold,
                                         float nmsThreshold)
{
    if (numClasses < 1)
        throw Error("non-maximum suppression needs at least one class, got " + std::to_string(numClasses));
    if (numRows < 0 || (numRows > 0 && !rows))
        throw Error("non-maximum suppression got " + std::to_string(numRows) + " rows and no data");

    const int64_t stride = 5 + numClasses;
    std::vector<Candidate> candidates;
    for (int64_t r = 0; r < numRows; ++r) {
        const float* row = rows + r * stride;
        const float objectness = row[4];
        if (!(objectness >= confThreshold)) // NaN objectness fails too
            continue;
        Candidate c;
        const float cx = row[0], cy = row[1], halfW = row[2] / 2, halfH = row[3] / 2;
        c.x1 = cx - halfW;
        c.y1 = cy - halfH;
        c.x2 = cx + halfW;
        c.y2 = cy + halfH;
        c.objectness = objectness;
        bestClass(row + 5, numClasses, c.classScore, c.classId);
        c.score = objectness * c.classScore;
        c.row = r;
        candidates.push_back(c);
    }

    // Boxes of different classes never suppress each other, so each class runs the loop on its
    // own (the worst case drops from n^2 to n^2 / classes) and the kept boxes are put back into
    // the reference's global order afterwards; the result is the same as one loop over all rows.
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
        if (a.classId != b.classId)
            return a.classId < b.classId;
        return rankedBefore(a.score, a.row, b.score, b.row);
    });
    std::vector<RankedDetection> ranked;
    for (size_t begin = 0; begin < candidates.size();) {
        size_t end = begin + 1;
        while (end < candidates.size() && candidates[end].classId == candidates[begin].classId)
            ++end;
        suppressClass(candidates.data() + begin, end - begin, nmsThreshold, ranked);
        begin = end;
    }
    std::sort(ranked.begin(), ranked.end(), [](const RankedDetection& a, const RankedDetection& b) {
        return rankedBefore(a.score, a.row, b.score, b.row);
    });

    std::vector<Detection> kept;
    kept.reserve(ranked.size());
    for (const RankedDetection& r : ranked)
        kept.push_back(r.detection);
    return kept;
}

} // namespace tyq
