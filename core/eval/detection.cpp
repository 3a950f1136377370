#include "eval/detection.h"

#include <cmath>

namespace tyq {
namespace {

// torch.maximum / torch.minimum / clamp propagate NaN where std::max and std::min would
// silently pick the other operand; a box with NaN coordinates must get a NaN IoU (no match).
float maxPropagatingNan(float a, float b)
{
    return (std::isnan(a) || a > b) ? a : b;
}

float minPropagatingNan(float a, float b)
{
    return (std::isnan(a) || a < b) ? a : b;
}

float clampAtZero(float x)
{
    return x < 0.0f ? 0.0f : x; // NaN stays NaN
}

} // namespace

float boxIouPlusOne(float ax1, float ay1, float ax2, float ay2, float bx1, float by1, float bx2, float by2)
{
    // Every step in float and in the reference's order, so results match its float32 tensors bit for bit.
    const float interW = clampAtZero(minPropagatingNan(ax2, bx2) - maxPropagatingNan(ax1, bx1) + 1.0f);
    const float interH = clampAtZero(minPropagatingNan(ay2, by2) - maxPropagatingNan(ay1, by1) + 1.0f);
    const float inter = interW * interH;
    const float areaA = (ax2 - ax1 + 1.0f) * (ay2 - ay1 + 1.0f);
    const float areaB = (bx2 - bx1 + 1.0f) * (by2 - by1 + 1.0f);
    return inter / (areaA + areaB - inter + 1e-16f);
}

void scaleDetections(std::vector<Detection>& detections, float scaleX, float scaleY)
{
    for (Detection& d : detections) {
        d.x1 *= scaleX;
        d.x2 *= scaleX;
        d.y1 *= scaleY;
        d.y2 *= scaleY;
    }
}

} // namespace tyq
