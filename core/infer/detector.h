// Inference on image files: preprocessing as the reference, the network (or a quantized network's
// integer form), decode, NMS, and boxes mapped back to the original image. Used by `tyq detect`,
// `tyq eval` and the studio.
#pragma once

#include "eval/detection.h"
#include "hw/integer_engine.h"
#include "infer/inference_engine.h"
#include "model/yolo_network.h"

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <memory>
#include <vector>

namespace tyq {

struct DetectionOptions {
    float confThreshold = 0.5f; ///< minimum objectness
    float nmsThreshold = 0.1f;  ///< IoU above which same-class boxes merge (the test script's 0.1)
    bool keepDecoded = false;   ///< keep the decoded rows (for --dump)
    bool keepLayers = false;    ///< keep every layer's output (for --dump)
};

struct ImageDetections {
    std::filesystem::path image;
    int width = 0, height = 0;          ///< original image size
    std::vector<Detection> detections;  ///< in original image pixels, best first
    at::Tensor decoded;                 ///< [rows, 5+C] in network-input pixels, if kept
    at::Tensor input;                   ///< [3, H, W] the network input (RGB 0..255), with decoded
    std::vector<at::Tensor> layerOutputs; ///< per layer [C, H, W] (decoded rows for yolo), if kept
};

class Detector {
public:
    /// Puts the network in eval mode. Input size defaults to the cfg's. With `fastPath`, images
    /// run through an InferenceEngine built here from the network's current weights (later
    /// weight changes need a new Detector); without it, or when every layer's output is kept
    /// (dumps), through the network's own reference forward. `precision` is the engine's
    /// (InferenceOptions::precision: bf16 needs the fast path and a full-precision network).
    explicit Detector(YoloNetwork network, int inputWidth = 0, int inputHeight = 0, bool fastPath = true,
                      Precision precision = Precision::fp32);
    /// Images run through `integer`, the integer-only form of `network` (exportIntegerModel):
    /// the codes the hardware computes. `network` supplies the spec; layer dumps (keepLayers) are
    /// refused, as `tyq detect --engine int --dump` writes the integer engine's own.
    Detector(YoloNetwork network, std::shared_ptr<const IntegerEngine> integer, int inputWidth = 0, int inputHeight = 0);

    /// Runs one image. Throws tyq::Error naming the image if it cannot be read, and for
    /// keepLayers under bf16 (layer outputs come from the fp32 reference forward).
    ImageDetections run(const std::filesystem::path& image, const DetectionOptions& options);

    /// Decoded rows [N, rows, 5+C] (network-input pixels) of images already at the input size
    /// ([N, 3, H, W], 0..255), through the same engine as run(): a BatchDetector for evaluateDataset.
    at::Tensor detectBatch(const at::Tensor& images);

    /// Detections of one already-decoded image's rows ([rows, 5+C], network-input pixels).
    static std::vector<Detection> detectionsFromDecoded(const at::Tensor& decoded, int numClasses,
                                                        const DetectionOptions& options);

    int inputWidth() const { return inputWidth_; }
    int inputHeight() const { return inputHeight_; }
    YoloNetwork& network() { return network_; }
    /// The integer engine images run through, or null (the float network).
    const IntegerEngine* integerEngine() const { return integer_.get(); }

private:
    YoloNetwork network_;
    std::shared_ptr<const InferenceEngine> engine_; ///< null: the reference forward
    std::shared_ptr<const IntegerEngine> integer_;  ///< set: it runs instead of the network
    int inputWidth_;
    int inputHeight_;
};

} // namespace tyq
