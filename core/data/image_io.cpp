#include "data/image_io.h"

#include "common/error.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>

namespace tyq {
namespace {

// OpenCV allocates what an image header claims before it reads a pixel (up to 2^30 pixels: a
// 50-byte BMP can demand 3 GB), and reads its own limit once, when it loads. So tyq reads the
// size from the header of the formats datasets use (JPEG, PNG, BMP) and refuses an image of
// more than kMaxImagePixels before OpenCV sees it. Returns {0, 0} for other formats or
// headers too short to tell; OpenCV then decides (and errs with its own message).
struct HeaderSize {
    int64_t width = 0, height = 0;
};

uint32_t bigEndian(const unsigned char* p, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes; ++i)
        v = (v << 8) | p[i];
    return v;
}

uint32_t littleEndian(const unsigned char* p, int bytes)
{
    uint32_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

HeaderSize jpegSize(std::ifstream& in)
{
    // Segments after SOI (FFD8): FF <marker> <16-bit length> ...; SOFn carries the size.
    in.seekg(2);
    unsigned char b[9];
    for (int segment = 0; segment < 4096 && in.read(reinterpret_cast<char*>(b), 4); ++segment) {
        if (b[0] != 0xFF)
            return {};
        const int marker = b[1];
        const uint32_t length = bigEndian(b + 2, 2);
        const bool startOfFrame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (startOfFrame) {
            if (!in.read(reinterpret_cast<char*>(b), 5))
                return {};
            return {bigEndian(b + 3, 2), bigEndian(b + 1, 2)};
        }
        if (length < 2)
            return {};
        in.seekg(length - 2, std::ios::cur);
    }
    return {};
}

HeaderSize imageHeaderSize(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    unsigned char h[26] = {};
    in.read(reinterpret_cast<char*>(h), sizeof h);
    const auto got = in.gcount();
    if (got >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) {
        in.clear();
        return jpegSize(in);
    }
    if (got >= 24 && std::memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0)
        return {bigEndian(h + 16, 4), bigEndian(h + 20, 4)};
    if (got >= 26 && h[0] == 'B' && h[1] == 'M') {
        if (littleEndian(h + 14, 4) == 12) // BITMAPCOREHEADER: 16-bit sizes
            return {littleEndian(h + 18, 2), littleEndian(h + 20, 2)};
        const auto height = static_cast<int32_t>(littleEndian(h + 22, 4)); // negative: top-down rows
        return {std::abs(static_cast<int64_t>(static_cast<int32_t>(littleEndian(h + 18, 4)))),
                std::abs(static_cast<int64_t>(height))};
    }
    return {};
}

} // namespace

cv::Mat loadImageRgb(const std::filesystem::path& path)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        fail(path, "image not found");
    if (!std::filesystem::is_regular_file(path, ec))
        fail(path, "not a regular file");
    const HeaderSize size = imageHeaderSize(path); // each side < 2^32: check them before their product
    if (size.width > kMaxImagePixels || size.height > kMaxImagePixels || size.width * size.height > kMaxImagePixels)
        fail(path, fmt::format("the image header claims {} x {} pixels; tyq decodes at most {} pixels", size.width,
                               size.height, kMaxImagePixels));
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
