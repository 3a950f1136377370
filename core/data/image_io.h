// Images in, network input out, with the reference's preprocessing: decode to RGB (EXIF
// orientation ignored, as PIL does), resize with PIL's NEAREST sampling, values 0..255.
#pragma once

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace tyq {

/// Largest image (width x height) tyq decodes, 8192 x 8192: a JPEG, PNG or BMP header claiming
/// more is refused before any allocation.
constexpr int64_t kMaxImagePixels = int64_t(1) << 26;

/// Decodes an image file to 8-bit RGB. Throws tyq::Error naming the file if it is missing,
/// unreadable, too large or not a decodable image.
cv::Mat loadImageRgb(const std::filesystem::path& path);

/// Source index of each destination pixel along one axis, exactly as PIL's NEAREST filter picks
/// it (double-precision accumulation of src/dst from a half-step start).
std::vector<int> pilNearestIndices(int srcSize, int dstSize);

/// Resizes 8-bit RGB with PIL's NEAREST sampling.
cv::Mat resizeNearestPil(const cv::Mat& rgb, int width, int height);

/// HWC uint8 RGB -> CHW float tensor, values 0..255.
at::Tensor rgbToTensor(const cv::Mat& rgb);

/// Loads, resizes to width x height and converts: the network input for one image, [3, H, W].
/// `originalSize` receives the decoded image's size (for mapping boxes back).
at::Tensor loadNetworkInput(const std::filesystem::path& path, int width, int height, cv::Size* originalSize = nullptr);

} // namespace tyq
