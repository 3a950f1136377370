#include "infer/detector.h"

#include "common/error.h"
#include "data/image_io.h"
#include "eval/nms.h"

#include <ATen/ATen.h>

namespace tyq {

Detector::Detector(YoloNetwork network, int inputWidth, int inputHeight, bool fastPath, Precision precision)
    : network_(std::move(network)),
      inputWidth_(inputWidth > 0 ? inputWidth : network_->spec().width),
      inputHeight_(inputHeight > 0 ? inputHeight : network_->spec().height)
{
    network_->eval();
    if (!fastPath && precision != Precision::fp32)
        throw Error(std::string("Detector: ") + precisionName(precision) + " runs on the fast path only");
    if (fastPath)
        engine_ = std::make_shared<const InferenceEngine>(*network_, InferenceOptions().setPrecision(precision));
}

Detector::Detector(YoloNetwork network, std::shared_ptr<const IntegerEngine> integer, int inputWidth, int inputHeight)
    : Detector(std::move(network), inputWidth, inputHeight, false)
{
    if (!integer)
        throw Error("Detector: no integer engine given");
    integer_ = std::move(integer);
}

std::vector<Detection> Detector::detectionsFromDecoded(const at::Tensor& decoded, int numClasses,
                                                       const DetectionOptions& options)
{
    const at::Tensor rows = decoded.to(at::kFloat).contiguous();
    return nonMaxSuppression(rows.data_ptr<float>(), rows.size(0), numClasses, options.confThreshold,
                             options.nmsThreshold);
}

at::Tensor Detector::detectBatch(const at::Tensor& images)
{
    at::NoGradGuard noGrad;
    if (integer_)
        return integer_->detect(images);
    return engine_ ? engine_->detect(images) : network_->detect(images);
}

ImageDetections Detector::run(const std::filesystem::path& image, const DetectionOptions& options)
{
    at::NoGradGuard noGrad;
    if (options.keepLayers && integer_)
        throw Error("layer outputs of the integer engine: use tyq detect --engine int --dump");
    if (options.keepLayers && engine_ && engine_->options().precision != Precision::fp32)
        throw Error("layer outputs are the fp32 reference forward's: drop the bf16 precision to dump them");
    ImageDetections result;
    result.image = image;
    cv::Size original;
    const at::Tensor input = loadNetworkInput(image, inputWidth_, inputHeight_, &original).unsqueeze(0);
    result.width = original.width;
    result.height = original.height;

    at::Tensor decoded;
    if (options.keepLayers) {
        std::vector<at::Tensor> layers;
        const std::vector<at::Tensor> heads = network_->forward(input, &layers);
        const std::vector<int> yolo = network_->spec().yoloIndices();
        std::vector<at::Tensor> parts;
        for (int index : yolo)
            parts.push_back(layers[static_cast<size_t>(index)]);
        decoded = (parts.size() == 1 ? parts.front() : at::cat(parts, 1))[0];
        for (at::Tensor& layer : layers)
            result.layerOutputs.push_back(layer.defined() ? layer[0] : layer);
    } else {
        decoded = detectBatch(input)[0];
    }
    result.detections = detectionsFromDecoded(decoded, network_->spec().numClasses(), options);
    scaleDetections(result.detections, static_cast<float>(original.width) / inputWidth_,
                    static_cast<float>(original.height) / inputHeight_);
    if (options.keepDecoded) {
        result.decoded = decoded;
        result.input = input[0];
    }
    return result;
}

} // namespace tyq
