#include "infer/annotate.h"

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>

namespace tyq {

cv::Scalar classColorRgb(int classId)
{
    static const cv::Scalar palette[] = {
        {230, 25, 75},  {60, 180, 75},  {255, 225, 25}, {0, 130, 200},  {245, 130, 48}, {145, 30, 180}, {70, 240, 240},
        {240, 50, 230}, {210, 245, 60}, {250, 190, 212}, {0, 128, 128}, {220, 190, 255}, {170, 110, 40}, {255, 250, 200},
        {128, 0, 0},    {170, 255, 195}, {128, 128, 0}, {255, 215, 180}, {0, 0, 128},   {128, 128, 128},
    };
    const int n = static_cast<int>(sizeof palette / sizeof palette[0]);
    return palette[((classId % n) + n) % n];
}

namespace {

void dashedRect(cv::Mat& img, cv::Point a, cv::Point b, const cv::Scalar& color, int thickness)
{
    const int dash = 6;
    auto line = [&](cv::Point p, cv::Point q) {
        const double len = std::hypot(q.x - p.x, q.y - p.y);
        for (double t = 0; t < len; t += 2 * dash) {
            const double t2 = std::min(len, t + dash);
            cv::line(img, p + (q - p) * (t / len), p + (q - p) * (t2 / len), color, thickness);
        }
    };
    line(a, {b.x, a.y});
    line({b.x, a.y}, b);
    line(b, {a.x, b.y});
    line({a.x, b.y}, a);
}

std::string nameOf(int classId, const std::vector<std::string>& names)
{
    return classId >= 0 && classId < static_cast<int>(names.size()) ? names[static_cast<size_t>(classId)]
                                                                    : std::to_string(classId);
}

} // namespace

cv::Mat drawDetections(const cv::Mat& rgb, const std::vector<Detection>& detections,
                       const std::vector<std::string>& classNames, const std::vector<GroundTruth>& truths)
{
    cv::Mat out = rgb.clone();
    const int thickness = std::max(1, std::min(out.cols, out.rows) / 300);
    for (const GroundTruth& t : truths)
        dashedRect(out, {int(t.x1), int(t.y1)}, {int(t.x2), int(t.y2)}, classColorRgb(t.classId), thickness);
    for (const Detection& d : detections) {
        const cv::Scalar color = classColorRgb(d.classId);
        const cv::Point p1(int(d.x1), int(d.y1)), p2(int(d.x2), int(d.y2));
        cv::rectangle(out, p1, p2, color, thickness);
        const std::string label = fmt::format("{} {:.2f}", nameOf(d.classId, classNames), d.objectness * d.classScore);
        int baseline = 0;
        const double scale = 0.45 * thickness;
        const cv::Size size = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
        const cv::Point origin(std::max(0, p1.x), std::max(size.height + 2, p1.y));
        cv::rectangle(out, origin + cv::Point(0, -size.height - 2), origin + cv::Point(size.width + 2, baseline),
                      color, cv::FILLED);
        cv::putText(out, label, origin + cv::Point(1, -1), cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), 1,
                    cv::LINE_AA);
    }
    return out;
}

} // namespace tyq
