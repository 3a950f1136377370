// Boxes drawn on images: the same colour per class everywhere (CLI --draw, reports), predicted
// boxes solid with "class score" labels, ground truth dashed.
#pragma once

#include "eval/detection.h"

#include <opencv2/core/mat.hpp>

#include <string>
#include <vector>

namespace tyq {

/// RGB colour of a class (stable, distinct for the first 20 classes).
cv::Scalar classColorRgb(int classId);

/// Returns a copy of `rgb` with the detections (and ground truth, if given) drawn, as RGB.
cv::Mat drawDetections(const cv::Mat& rgb, const std::vector<Detection>& detections,
                       const std::vector<std::string>& classNames, const std::vector<GroundTruth>& truths = {});

} // namespace tyq
