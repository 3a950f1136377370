// Evaluation of a network over a dataset, as the reference evaluates: every image at the
// network's input size, detections thresholded and merged, matched against the labels in
// network-input pixels, accumulated into mAP, precision/recall/F1 and the two IoUs.
#pragma once

#include "data/batch_loader.h"
#include "eval/detection_metrics.h"
#include "model/precision.h"

#include <functional>
#include <vector>

namespace tyq {

class YoloNetworkImpl;

struct EvalOptions {
    float confThreshold = 0.5f;
    float nmsThreshold = 0.5f; ///< the training-time evaluation's; the test script used 0.1
    float iouThreshold = 0.5f;
    /// Run the images through an InferenceEngine built from the network's current weights
    /// (folded BN, fused first stages); false: the network's own reference forward.
    bool fastPath = true;
    /// The convolutions' arithmetic (model/precision.h); bf16 is for full-precision networks.
    Precision precision = Precision::fp32;
};

/// Per-image outcome, for browsing the worst images (the studio fills its IoU columns from it).
struct ImageEvaluation {
    int sampleIndex = 0;
    std::vector<Detection> detections; ///< network-input pixels, best first
    std::vector<GroundTruth> truths;
    float topIoU = 0; ///< IoU of the best-scoring detection with its best truth (contest score)
};

/// Truth boxes of normalized labels in pixels of a width x height input.
std::vector<GroundTruth> truthBoxes(const std::vector<BoxLabel>& labels, int width, int height);

/// Called with each image's outcome as soon as its batch is done.
using ImageEvaluationSink = std::function<void(ImageEvaluation&&)>;

/// Runs the network (in eval mode, restoring its mode afterwards) over every batch of `loader`
/// (which should not shuffle or augment). `progress(done, total)` returning false cancels: the
/// result then covers the images seen. Unreadable images are skipped and counted in `problems`.
EvaluationResult evaluateDataset(YoloNetworkImpl& network, BatchLoader& loader, const EvalOptions& options,
                                 const std::function<bool(int64_t, int64_t)>& progress = {},
                                 const ImageEvaluationSink& perImage = {},
                                 std::vector<std::string>* problems = nullptr);

/// Decoded rows [N, rows, 5+C] (network-input pixels) of a batch of images [N, 3, H, W].
using BatchDetector = std::function<at::Tensor(const at::Tensor& images)>;

/// The same evaluation for any engine (the integer engine, an inference engine, ...).
EvaluationResult evaluateDataset(const BatchDetector& detect, int numClasses, BatchLoader& loader,
                                 const EvalOptions& options, const std::function<bool(int64_t, int64_t)>& progress = {},
                                 const ImageEvaluationSink& perImage = {},
                                 std::vector<std::string>* problems = nullptr);

} // namespace tyq
