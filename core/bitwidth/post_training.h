// Post-training quantization (PTQ): an fp network quantized at given bit-widths without any
// training, weight steps by LSQ's init and activation steps calibrated on a few training
// images. The preview builds and evaluates one per bit-width choice, reading the images once;
// the CLI (`tyq ptq`), the studio's editor and the bit-width search all go through it.
#pragma once

#include "data/batch_loader.h"
#include "data/dataset.h"
#include "infer/dataset_evaluation.h"
#include "model/model_loader.h"
#include "model/yolo_network.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tyq {

/// A network with the same spec and weights as `network` (quantizers and their steps included),
/// sharing nothing with it.
YoloNetwork cloneNetwork(const YoloNetworkImpl& network);

/// A copy of `fp` (full precision) quantized at `config`: weight steps from LSQ's init on the
/// fp weights, then every activation step calibrated by `calibration` on one forward of
/// `calibrationImages` ([N, 3, H, W], 0..255), layer by layer. In eval mode. Throws tyq::Error
/// if `fp` is already quantized.
YoloNetwork quantizeAfterTraining(const YoloNetworkImpl& fp, const QuantConfig& config,
                                  const at::Tensor& calibrationImages, StepCalibration calibration,
                                  std::vector<std::string>* warnings = nullptr);

struct PreviewOptions {
    int calibrationImages = 32; ///< the first N of the train split, in list order
    int validationImages = 64;  ///< the first N of the val split (0: all)
    int width = 0, height = 0;  ///< 0: the cfg's input size
    StepCalibration calibration = StepCalibration::minimumError;
    EvalOptions eval;           ///< the thresholds of training-time evaluation by default
    int batchSize = 8;
    int loaderThreads = 2;
};

struct PreviewResult {
    YoloNetwork network{nullptr}; ///< the quantized model evaluated (for the detection viewer)
    EvaluationResult metrics;     ///< on the validation subset
    double calibrationSeconds = 0;
    double evaluationSeconds = 0;
    std::vector<std::string> warnings;
};

class PostTrainingPreview;

/// Loads the fp model of `model` (its bit-widths ignored: the preview applies its own) and
/// builds its preview; the model's load warnings go to `warnings`. What the CLI and the studio
/// open a preview with.
std::unique_ptr<PostTrainingPreview> openPostTrainingPreview(ModelSource model, const std::filesystem::path& dataFile,
                                                             const PreviewOptions& options,
                                                             std::vector<std::string>* warnings = nullptr);

/// Writes a preview's quantized model as a tyq LSQ checkpoint (its bit-widths and metrics
/// recorded), which `tyq train --from` starts from and every model field loads. Atomic.
void savePostTrainingCheckpoint(const PreviewResult& result, const std::filesystem::path& path);

/// The fp model and the images, read once; run() per bit-width choice. run() may be called
/// from any one thread at a time.
class PostTrainingPreview {
public:
    /// Reads the calibration images and lists the validation subset of `dataFile`. Throws
    /// tyq::Error naming the file when a split is empty or the classes disagree with `fp`, and
    /// naming `modelName` when `fp` is already quantized.
    PostTrainingPreview(YoloNetwork fp, const std::filesystem::path& dataFile, PreviewOptions options,
                        const std::string& modelName = "the model");
    ~PostTrainingPreview();

    /// Quantizes at `config` and evaluates. `progress(done, total)` over the validation images;
    /// returning false cancels (the metrics then cover the images seen).
    PreviewResult run(const QuantConfig& config, const std::function<bool(int64_t, int64_t)>& progress = {}) const;
    /// The fp model on the same subset (what a drop is measured against).
    EvaluationResult evaluateFullPrecision(const std::function<bool(int64_t, int64_t)>& progress = {}) const;
    /// Evaluates any network on the validation subset.
    EvaluationResult evaluate(YoloNetworkImpl& network, const std::function<bool(int64_t, int64_t)>& progress = {}) const;

    const YoloNetworkImpl& fullPrecision() const { return *fp_; }
    const at::Tensor& calibrationImages() const { return calibration_; }
    /// Their labels, [T, 6] as a Batch holds them (the Hessian proxy's loss needs them).
    const at::Tensor& calibrationTargets() const { return calibrationTargets_; }
    const PreviewOptions& options() const { return options_; }
    int validationCount() const;

private:
    YoloNetwork fp_;
    PreviewOptions options_;
    at::Tensor calibration_;
    at::Tensor calibrationTargets_;
    std::unique_ptr<BatchLoader> validation_;
};

} // namespace tyq
