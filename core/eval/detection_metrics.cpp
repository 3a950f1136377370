#include "eval/detection_metrics.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace tyq {
namespace {

// The best IoU of a box with any of `truths` and the first index reaching it. A NaN IoU (a box
// with NaN coordinates) counts as no overlap, so it never matches and never poisons a mean.
std::pair<float, size_t> bestTruthOverlap(const Detection& box, const std::vector<GroundTruth>& truths)
{
    float bestIou = 0;
    size_t bestIndex = 0;
    for (size_t t = 0; t < truths.size(); ++t) {
        const GroundTruth& g = truths[t];
        float iou = boxIouPlusOne(box.x1, box.y1, box.x2, box.y2, g.x1, g.y1, g.x2, g.y2);
        if (std::isnan(iou))
            iou = 0;
        if (t == 0 || iou > bestIou) {
            bestIou = iou;
            bestIndex = t;
        }
    }
    return {bestIou, bestIndex};
}

void checkClassId(int classId, int numClasses, const char* what)
{
    if (classId < 0 || classId >= numClasses)
        throw Error(std::string("evaluation: ") + what + " has class " + std::to_string(classId) + ", expected 0.." +
                    std::to_string(numClasses - 1));
}

} // namespace

DetectionEvaluator::DetectionEvaluator(int numClasses, float iouThreshold)
    : numClasses_(numClasses), iouThreshold_(iouThreshold)
{
    if (numClasses < 1)
        throw Error("evaluation needs at least one class, got " + std::to_string(numClasses));
}

void DetectionEvaluator::addImage(const std::vector<Detection>& predictions, const std::vector<GroundTruth>& truths)
{
    for (const Detection& p : predictions)
        checkClassId(p.classId, numClasses_, "a prediction");
    for (const GroundTruth& g : truths)
        checkClassId(g.classId, numClasses_, "a ground-truth box");

    ++images_;
    for (const GroundTruth& g : truths)
        truthClasses_.push_back(g.classId);

    // Contest score: the top box only, against any object of the image.
    if (!predictions.empty() && !truths.empty())
        contestIoUSum_ += bestTruthOverlap(predictions.front(), truths).first;

    // True positives as the reference's get_batch_statistics, quirks included: the class gate asks
    // only whether the image has an object of that class, and the IoU then goes against every
    // object of the image, whatever its class.
    std::vector<size_t> detected;
    bool allDetected = truths.empty();
    for (const Detection& p : predictions) {
        bool truePositive = false;
        if (!allDetected) {
            const bool classInImage = std::any_of(truths.begin(), truths.end(),
                                                  [&](const GroundTruth& g) { return g.classId == p.classId; });
            if (classInImage) {
                const auto [iou, index] = bestTruthOverlap(p, truths);
                if (iou >= iouThreshold_ && std::find(detected.begin(), detected.end(), index) == detected.end()) {
                    truePositive = true;
                    detected.push_back(index);
                    referenceIoUSum_ += iou;
                    allDetected = detected.size() == truths.size();
                }
            }
        }
        scored_.push_back({p.objectness, p.classId, truePositive});
    }
}

EvaluationResult DetectionEvaluator::result() const
{
    EvaluationResult result;
    result.images = images_;
    result.predictions = static_cast<int>(scored_.size());
    result.truths = static_cast<int>(truthClasses_.size());
    result.referenceIoU = scored_.empty() ? 0.0 : referenceIoUSum_ / static_cast<double>(scored_.size());
    result.contestIoU = images_ == 0 ? 0.0 : contestIoUSum_ / images_;

    // All predictions by objectness, best first. Stable so ties keep image order (the reference's
    // np.argsort is unstable there); NaN last, as np.argsort(-conf) puts it.
    std::vector<size_t> order(scored_.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const float sa = scored_[a].score, sb = scored_[b].score;
        return sa > sb || (std::isnan(sb) && !std::isnan(sa));
    });

    std::vector<int> truthsPerClass(numClasses_, 0);
    for (int c : truthClasses_)
        ++truthsPerClass[c];

    std::vector<double> recallCurve, precisionCurve;
    for (int c = 0; c < numClasses_; ++c) {
        if (truthsPerClass[c] == 0)
            continue; // the reference reports only classes present in the ground truth
        ClassMetrics m;
        m.classId = c;
        m.numTruths = truthsPerClass[c];
        recallCurve.clear();
        precisionCurve.clear();
        double tpc = 0, fpc = 0;
        for (size_t i : order) {
            if (scored_[i].classId != c)
                continue;
            ++m.numPredictions;
            (scored_[i].truePositive ? tpc : fpc) += 1;
            recallCurve.push_back(tpc / (m.numTruths + 1e-16));
            precisionCurve.push_back(tpc / (tpc + fpc));
        }
        if (m.numPredictions > 0) {
            m.recall = recallCurve.back();
            m.precision = precisionCurve.back();
            m.ap = averagePrecision(recallCurve, precisionCurve);
        }
        m.f1 = 2 * m.precision * m.recall / (m.precision + m.recall + 1e-16);
        result.perClass.push_back(m);
    }

    if (!result.perClass.empty()) {
        for (const ClassMetrics& m : result.perClass) {
            result.mAP += m.ap;
            result.precision += m.precision;
            result.recall += m.recall;
            result.f1 += m.f1;
        }
        const double n = static_cast<double>(result.perClass.size());
        result.mAP /= n;
        result.precision /= n;
        result.recall /= n;
        result.f1 /= n;
    }
    return result;
}

double averagePrecision(const std::vector<double>& recall, const std::vector<double>& precision)
{
    if (recall.size() != precision.size())
        throw Error("average precision: " + std::to_string(recall.size()) + " recall values but " +
                    std::to_string(precision.size()) + " precision values");

    // Sentinels as VOC: the curve starts at recall 0 and ends at recall 1 with precision 0.
    std::vector<double> mrec(recall.size() + 2), mpre(precision.size() + 2);
    mrec.front() = 0.0;
    mrec.back() = 1.0;
    mpre.front() = 0.0;
    mpre.back() = 0.0;
    std::copy(recall.begin(), recall.end(), mrec.begin() + 1);
    std::copy(precision.begin(), precision.end(), mpre.begin() + 1);

    // Precision envelope: each point takes the best precision at any higher recall.
    for (size_t i = mpre.size() - 1; i > 0; --i)
        mpre[i - 1] = std::max(mpre[i - 1], mpre[i]);

    double ap = 0;
    for (size_t i = 0; i + 1 < mrec.size(); ++i) {
        if (mrec[i + 1] != mrec[i])
            ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
    }
    return ap;
}

std::string formatEvaluationTable(const EvaluationResult& result, const std::vector<std::string>& classNames)
{
    auto fixed5 = [](double v) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.5f", v);
        return std::string(buf);
    };

    // The first three columns look like the reference's terminaltables log, so the two can be compared by eye.
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"Index", "Class name", "AP", "Precision", "Recall", "F1", "Truths", "Predictions"});
    for (const ClassMetrics& m : result.perClass) {
        const bool named = m.classId >= 0 && static_cast<size_t>(m.classId) < classNames.size();
        rows.push_back({std::to_string(m.classId), named ? classNames[m.classId] : std::to_string(m.classId),
                        fixed5(m.ap), fixed5(m.precision), fixed5(m.recall), fixed5(m.f1),
                        std::to_string(m.numTruths), std::to_string(m.numPredictions)});
    }

    std::vector<size_t> widths(rows.front().size(), 0);
    for (const auto& row : rows)
        for (size_t c = 0; c < row.size(); ++c)
            widths[c] = std::max(widths[c], row[c].size());

    std::string rule = "+";
    for (size_t w : widths)
        rule += std::string(w + 2, '-') + "+";
    rule += "\n";

    auto formatRow = [&](const std::vector<std::string>& row) {
        std::string line = "|";
        for (size_t c = 0; c < row.size(); ++c)
            line += " " + row[c] + std::string(widths[c] - row[c].size(), ' ') + " |";
        return line + "\n";
    };

    std::string table = rule + formatRow(rows.front()) + rule;
    for (size_t r = 1; r < rows.size(); ++r)
        table += formatRow(rows[r]);
    table += rule;
    table += "mAP " + fixed5(result.mAP) + "  IoU " + fixed5(result.referenceIoU) + "  contest IoU " +
             fixed5(result.contestIoU) + "  P " + fixed5(result.precision) + "  R " + fixed5(result.recall) +
             "  F1 " + fixed5(result.f1) + "\n";
    table += std::to_string(result.images) + " images, " + std::to_string(result.truths) + " objects, " +
             std::to_string(result.predictions) + " predictions\n";
    return table;
}

} // namespace tyq
