// Does the integer engine compute what the fake-quantized model computes? Per conv, the input
// codes of both (end to end, where one differing code can change codes downstream, and layer
// by layer, where each layer gets the fake-quant model's own input codes), the rounding ties
// and fixed-point effects behind the differences, and the detections of both.
#pragma once

#include "data/dataset.h"
#include "infer/dataset_evaluation.h"
#include "eval/detection.h"
#include "hw/integer_engine.h"
#include "infer/detector.h"

#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

namespace tyq {

class YoloNetworkImpl;

/// The input codes of one conv, compared over one or more images.
struct LayerAgreement {
    int layer = 0;
    int64_t positions = 0;         ///< codes compared
    int64_t identical = 0;         ///< equal end to end
    int64_t isolatedIdentical = 0; ///< equal when the producer got the fake-quant model's input codes
    int64_t maxDifference = 0;     ///< largest |code difference| end to end
    int64_t ties = 0;              ///< fixed-point values exactly halfway (rounded up; fake-quant rounds half to even)
    int64_t fixedPointVsExact = 0; ///< fixed-point result != exact real value rounded half to even
    double identicalFraction() const { return positions > 0 ? double(identical) / double(positions) : 1.0; }
    double isolatedFraction() const { return positions > 0 ? double(isolatedIdentical) / double(positions) : 1.0; }
};

struct ImageAgreement {
    std::string name;
    std::vector<LayerAgreement> layers;
    double maxHeadDifference = 0; ///< largest |raw yolo output difference|
    int fakeDetections = 0, integerDetections = 0;
    bool detectionsIdentical = false; ///< same count, classes, and boxes within the tolerance
    double maxBoxDifference = 0;      ///< pixels of the network input, over matched detections
    std::vector<Detection> fakeBoxes, integerBoxes; ///< network-input pixels, best first
};

struct AgreementReport {
    std::vector<LayerAgreement> layers; ///< summed over images
    std::vector<ImageAgreement> images;
    double maxHeadDifference = 0;
    double maxBoxDifference = 0;
    int imagesWithIdenticalDetections = 0;

    void add(const ImageAgreement& image);
    /// A table: per conv, % identical end to end and layer by layer, ties, fixed-point effects.
    std::string format() const;
};

/// Box coordinates within this many pixels count as the same detection: float rounding moves
/// them by ~1e-3 px; one 9-bit code of the last layer's input by ~1e-2 px.
constexpr double kBoxTolerance = 0.05;

/// Runs both on one image [1, 3, H, W] (integer pixels) and compares. `network` must be the
/// fake-quantized model the engine's model was exported from (it is put in eval mode).
ImageAgreement compareWithFakeQuant(YoloNetworkImpl& network, const IntegerEngine& engine, const at::Tensor& image,
                                    const DetectionOptions& detection = {}, const std::string& name = "");

/// The comparison over labelled images, with the evaluation of both (mAP both ways).
struct DatasetAgreement {
    AgreementReport report;
    EvaluationResult fakeQuant; ///< the fake-quantized model's metrics on the images checked
    EvaluationResult integer;   ///< the integer engine's
    int imagesChecked = 0;
    std::vector<std::string> problems; ///< images that could not be read (skipped)
    bool cancelled = false;
};

/// Compares on every sample at the network's input size, detections thresholded as `options`
/// says. `progress(done, total)` returning false cancels (the result covers the images done).
DatasetAgreement checkAgreementOnSamples(YoloNetworkImpl& network, const IntegerEngine& engine,
                                         const std::vector<Sample>& samples, const EvalOptions& options,
                                         const std::function<bool(int, int)>& progress = {});

/// Same count and classes, boxes within `tolerance` pixels; `maxDifference` receives the largest
/// coordinate difference over the compared pairs.
bool sameDetections(const std::vector<Detection>& a, const std::vector<Detection>& b, double tolerance,
                    double* maxDifference = nullptr);

} // namespace tyq
