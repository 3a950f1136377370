// Backgrounds of the synthetic dataset: textured terrain, water, roads, sand, beach and
// pavement with markings and distractors, the scene picked to suit the object's class.
#pragma once

#include "data/synthetic/random.h"

#include <opencv2/core.hpp>

namespace tyq::synthetic {

enum class Scene { Terrain, Water, Road, Sand, Beach, Pavement };

/// A scene that suits the class (boats on water, cars on roads, ...).
Scene pickScene(int classId, Rng& rng);

/// The background image of a scene, CV_8UC3 of `size`.
cv::Mat makeBackground(Scene scene, cv::Size size, Rng& rng, cv::RNG& cvRng);

} // namespace tyq::synthetic
