// Detections and ground-truth boxes in plain C++ (no LibTorch), shared by NMS, the metrics,
// the CLI's JSON and the studio's detection view.
#pragma once

#include <vector>

namespace tyq {

/// One detected object, in the pixel coordinates of the network input (or, after
/// scaleDetections, of the original image).
struct Detection {
    float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
    float objectness = 0; ///< sigmoid objectness of the (merged) box
    float classScore = 0; ///< best sigmoid class score
    int classId = 0;
};

/// A labelled object, in the same coordinates as the detections it is compared with.
struct GroundTruth {
    int classId = 0;
    float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

/// IoU with the reference's +1 pixel convention: widths are x2 - x1 + 1.
float boxIouPlusOne(float ax1, float ay1, float ax2, float ay2, float bx1, float by1, float bx2, float by2);

/// Scales boxes from network-input pixels to another image size (no letterbox: x and y
/// scale independently).
void scaleDetections(std::vector<Detection>& detections, float scaleX, float scaleY);

} // namespace tyq
