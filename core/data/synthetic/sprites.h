// The twelve object painters of the synthetic dataset: each draws its class (premultiplied
// colour and alpha together, so the alpha is exactly the object's coverage) at a given size,
// then orientSprite turns and crops it so the label box is tight by construction.
#pragma once

#include "data/synthetic/random.h"

#include <opencv2/core.hpp>

namespace tyq::synthetic {

struct Sprite {
    cv::Mat color; // CV_8UC3, premultiplied by alpha
    cv::Mat alpha; // CV_8UC1
};

/// Plausible aspect ratios (width / height) of a class.
struct AspectRange {
    double lo, hi;
};
AspectRange aspectRange(int classId);

/// Draws an object of `classId` in a nominal width x height box (plus a margin).
Sprite drawObject(int classId, double width, double height, Rng& rng);

/// A small rotation and maybe a mirror, then a crop to the visible object.
Sprite orientSprite(const Sprite& sprite, int classId, Rng& rng);

} // namespace tyq::synthetic
