#include "data/image_io.h"

#include "common/error.h"

#include <ATen/ATen.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstring>
#include <system_error>

namespace tyq {

cv::Mat loadImageRgb(const std::filesystem::path& path)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        fail(path, "image not found");
    if (!std::filesystem::is_regular_file(path, ec))
        fail(path, "not a regular file");
    cv::Mat bgr;
    try {
        bgr = cv::imread(path.string(), cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    } catch (const cv::Exception& e) {
        fail(path, std::string("cannot decode image: ") + e.what());
    }
    if (bgr.empty())
        fail(path, "cannot decode image (corrupt, truncated or not an image)");
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    return rgb;
}

std::vector<int> pilNearestIndices(int srcSize, int dstSize)
{
    std::vector<int> index(static_cast<size_t>(dstSize));
    const double scale = static_cast<double>(srcSize) / dstSize;
    double pos = scale * 0.5;
    for (int i = 0; i < dstSize; ++i) {
        index[static_cast<size_t>(i)] = std::min(static_cast<int>(pos), srcSize - 1);
        pos += scale;
    }
    return index;
}

cv::Mat resizeNearestPil(const cv::Mat& rgb, int width, int height)
{
    CV_Assert(rgb.type() == CV_8UC3);
    if (rgb.cols == width && rgb.rows == height)
        return rgb;
    const std::vector<int> xs = pilNearestIndices(rgb.cols, width);
    const std::vector<int> ys = pilNearestIndices(rgb.rows, height);
    cv::Mat out(height, width, CV_8UC3);
    for (int y = 0; y < height; ++y) {
        const uint8_t* src = rgb.ptr<uint8_t>(ys[static_cast<size_t>(y)]);
        uint8_t* dst = out.ptr<uint8_t>(y);
        for (int x = 0; x < width; ++x) {
            const uint8_t* p = src + 3 * xs[static_cast<size_t>(x)];
            dst[3 * x] = p[0];
            dst[3 * x + 1] = p[1];
            dst[3 * x + 2] = p[2];
        }
    }
    return out;
}

at::Tensor rgbToTensor(const cv::Mat& rgb)
{
    CV_Assert(rgb.type() == CV_8UC3);
    const cv::Mat contiguous = rgb.isContinuous() ? rgb : rgb.clone();
    const at::Tensor hwc = at::from_blob(const_cast<uint8_t*>(contiguous.ptr<uint8_t>()), {rgb.rows, rgb.cols, 3},
                                         at::TensorOptions().dtype(at::kByte));
    return hwc.permute({2, 0, 1}).to(at::kFloat).contiguous();
}

at::Tensor loadNetworkInput(const std::filesystem::path& path, int width, int height, cv::Size* originalSize)
{
    const cv::Mat rgb = loadImageRgb(path);
    if (originalSize)
        *originalSize = rgb.size();
    return rgbToTensor(resizeNearestPil(rgb, width, height));
}

} // namespace tyq
