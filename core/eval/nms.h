// Non-maximum suppression exactly as the reference: keep rows with objectness >= conf,
// order by objectness x best class score, and per class merge every box overlapping the kept
// one by more than the NMS threshold into their objectness-weighted mean.
#pragma once

#include "eval/detection.h"

#include <cstdint>
#include <vector>

namespace tyq {

/// `rows` holds `numRows` decoded predictions of one image, each `5 + numClasses` floats:
/// cx, cy, w, h (pixels), objectness, class scores. Returns the kept detections, best first.
std::vector<Detection> nonMaxSuppression(const float* rows, int64_t numRows, int numClasses, float confThreshold,
                                         float nmsThreshold);

} // namespace tyq
