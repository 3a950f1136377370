// Detection metrics of the reference, accumulated image by image: VOC all-point AP per class
// and mAP at an IoU threshold, precision/recall/F1 per class, the reference's "IoU" (mean over
// kept predictions of IoU-if-true-positive-else-0) and the contest's IoU (the best-scoring box
// of each image against its object, 0 when there is none).
#pragma once

#include "eval/detection.h"

#include <string>
#include <vector>

namespace tyq {

struct ClassMetrics {
    int classId = 0;
    int numTruths = 0;
    int numPredictions = 0;
    double ap = 0;
    double precision = 0;
    double recall = 0;
    double f1 = 0;
};

struct EvaluationResult {
    std::vector<ClassMetrics> perClass; ///< classes present in the ground truth, by class id
    double mAP = 0;                     ///< mean AP over perClass
    double precision = 0;               ///< mean over perClass
    double recall = 0;
    double f1 = 0;
    double referenceIoU = 0; ///< the reference's logged "IoU"
    double contestIoU = 0;   ///< DAC contest score: mean over images of the top box's IoU
    int images = 0;
    int predictions = 0;
    int truths = 0;
};

class DetectionEvaluator {
public:
    explicit DetectionEvaluator(int numClasses, float iouThreshold = 0.5f);

    /// Adds one image: its kept detections (best first, as nonMaxSuppression returns them)
    /// and its ground truth, in the same coordinates.
    void addImage(const std::vector<Detection>& predictions, const std::vector<GroundTruth>& truths);

    EvaluationResult result() const;

private:
    struct Scored {
        float score;
        int classId;
        bool truePositive;
    };
    int numClasses_;
    float iouThreshold_;
    std::vector<Scored> scored_;
    std::vector<int> truthClasses_;
    double referenceIoUSum_ = 0;
    double contestIoUSum_ = 0;
    int images_ = 0;
};

/// VOC all-point interpolated AP of a precision/recall curve (recall ascending).
double averagePrecision(const std::vector<double>& recall, const std::vector<double>& precision);

/// A fixed-width text table of per-class AP with mAP and IoUs, for terminals and logs.
std::string formatEvaluationTable(const EvaluationResult& result, const std::vector<std::string>& classNames);

} // namespace tyq
