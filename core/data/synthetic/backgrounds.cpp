#include "data/synthetic/backgrounds.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace tyq::synthetic {
namespace {

// ---------------------------------------------------------------------------------------------
// Backgrounds. Smooth textures are computed at half resolution and scaled up (large float
// temporaries are the main cost); sharp things (roads, markings, distractors) are drawn at full
// resolution. Sizes below are in full-resolution pixels of a 640-wide image.

// Smooth noise in about -1..1 with features of `cellPx` pixels.
cv::Mat valueNoise(cv::RNG& cvRng, cv::Size size, double cellPx)
{
    cv::Mat grid(std::max(2, static_cast<int>(size.height / cellPx) + 2),
                 std::max(2, static_cast<int>(size.width / cellPx) + 2), CV_32F);
    cvRng.fill(grid, cv::RNG::UNIFORM, -1.f, 1.f);
    cv::Mat out;
    cv::resize(grid, out, size, 0, 0, cv::INTER_CUBIC);
    return out;
}

cv::Mat fractalNoise(cv::RNG& cvRng, cv::Size size, double cellPx, int octaves)
{
    cv::Mat sum = valueNoise(cvRng, size, cellPx);
    double weight = 1, total = 1;
    for (int i = 1; i < octaves; ++i) {
        cellPx /= 2.5;
        weight *= 0.5;
        cv::scaleAdd(valueNoise(cvRng, size, std::max(2.0, cellPx)), weight, sum, sum);
        total += weight;
    }
    sum *= 1.0 / total;
    return sum;
}

// Per-pixel mix of two colours by t (0..1) plus grain, as CV_8UC3.
cv::Mat mixColours(const cv::Mat& t, const cv::Scalar& a, const cv::Scalar& b, cv::RNG& cvRng, double grain)
{
    cv::Mat out(t.size(), CV_8UC3);
    for (int y = 0; y < t.rows; ++y) {
        const float* tr = t.ptr<float>(y);
        auto* o = out.ptr<cv::Vec3b>(y);
        for (int x = 0; x < t.cols; ++x) {
            const double g = grain > 0 ? cvRng.gaussian(grain) : 0.0;
            for (int k = 0; k < 3; ++k)
                o[x][k] = cv::saturate_cast<uint8_t>(a[k] + (b[k] - a[k]) * tr[x] + g);
        }
    }
    return out;
}

cv::Mat terrain(cv::Size size, double px, Rng& rng, cv::RNG& cvRng)
{
    cv::Mat t = fractalNoise(cvRng, size, rng.uniform(120, 260) * px, 4);
    t.convertTo(t, -1, 0.5 * rng.uniform(0.9, 1.4), 0.5 + 0.5 * rng.uniform(-0.2, 0.3));
    t = cv::max(cv::min(t, 1.0), 0.0);
    cv::Mat img = mixColours(t, jitter(bgr(70, 115, 45), rng, 15), jitter(bgr(125, 105, 70), rng, 15), cvRng,
                             rng.uniform(3, 7));
    // Fields: a few flat patches of other crops.
    const int fields = rng.integer(0, 3);
    for (int i = 0; i < fields; ++i) {
        const cv::Point2f c(float(rng.uniform(0, size.width)), float(rng.uniform(0, size.height)));
        const cv::Size2f axes(float(rng.uniform(120, 400) * px), float(rng.uniform(80, 240) * px));
        const cv::Scalar tint = jitter(rng.chance(0.5) ? bgr(150, 150, 70) : bgr(85, 130, 50), rng, 12);
        cv::Mat patch = img.clone();
        cv::ellipse(patch, cv::RotatedRect(c, axes, float(rng.uniform(0, 180))), tint, cv::FILLED, cv::LINE_AA);
        cv::addWeighted(img, 0.35, patch, 0.65, 0, img);
    }
    return img;
}

cv::Mat sand(cv::Size size, double px, Rng& rng, cv::RNG& cvRng)
{
    cv::Mat t = fractalNoise(cvRng, size, rng.uniform(100, 200) * px, 3);
    const double angle = rng.uniform(0, kPi), wave = rng.uniform(10, 22) * px;
    const double kx = std::cos(angle) * 2 * kPi / wave, ky = std::sin(angle) * 2 * kPi / wave;
    for (int y = 0; y < size.height; ++y) {
        float* row = t.ptr<float>(y);
        for (int x = 0; x < size.width; ++x)
            row[x] = 0.5f + 0.3f * row[x] + 0.08f * static_cast<float>(std::sin(kx * x + ky * y + 6 * row[x]));
    }
    return mixColours(t, jitter(bgr(190, 165, 120), rng, 10), jitter(bgr(235, 215, 170), rng, 10), cvRng,
                      rng.uniform(4, 8));
}

cv::Mat water(cv::Size size, double px, Rng& rng, cv::RNG& cvRng)
{
    const cv::Mat n = fractalNoise(cvRng, size, rng.uniform(150, 300) * px, 3);
    const cv::Mat foamNoise = valueNoise(cvRng, size, 30 * px);
    const cv::Scalar deep = jitter(rng.chance(0.5) ? bgr(20, 60, 110) : bgr(25, 85, 105), rng, 10);
    const cv::Scalar shallow = jitter(rng.chance(0.5) ? bgr(50, 110, 160) : bgr(60, 140, 150), rng, 10);
    const double angle = rng.uniform(0, kPi), wave = rng.uniform(12, 36) * px;
    const double kx = std::cos(angle) * 2 * kPi / wave, ky = std::sin(angle) * 2 * kPi / wave;
    const double crests = rng.uniform(0.0, 0.7);
    cv::Mat img(size, CV_8UC3);
    for (int y = 0; y < size.height; ++y) {
        auto* out = img.ptr<cv::Vec3b>(y);
        const float* nr = n.ptr<float>(y);
        const float* fr = foamNoise.ptr<float>(y);
        for (int x = 0; x < size.width; ++x) {
            const double t = std::clamp(0.5 + 0.6 * nr[x], 0.0, 1.0);
            const double s = std::sin(kx * x + ky * y + 5 * nr[x]);
            const double foam = std::min(1.0, crests * std::max(0.0, s - 0.8) * 5 * std::max(0.0, fr[x] + 0.2));
            for (int k = 0; k < 3; ++k) {
                const double base = deep[k] + (shallow[k] - deep[k]) * t + 14 * s;
                out[x][k] = cv::saturate_cast<uint8_t>(base + (235 - base) * foam);
            }
        }
    }
    return img;
}

cv::Mat pavement(cv::Size size, double px, Rng& rng, cv::RNG& cvRng)
{
    cv::Mat t = fractalNoise(cvRng, size, rng.uniform(80, 200) * px, 3);
    t.convertTo(t, -1, 0.5, 0.5);
    const double g = rng.uniform(110, 170);
    return mixColours(t, jitter(cv::Scalar::all(g - 25), rng, 6), jitter(cv::Scalar::all(g + 20), rng, 6), cvRng,
                      rng.uniform(3, 6));
}

cv::Mat beach(cv::Size size, double px, Rng& rng, cv::RNG& cvRng)
{
    const cv::Mat land = sand(size, px, rng, cvRng), sea = water(size, px, rng, cvRng);
    const cv::Mat wobble = valueNoise(cvRng, size, 90 * px);
    const bool vertical = rng.chance(0.4), flip = rng.chance(0.5);
    const double at = rng.uniform(0.3, 0.7), amp = rng.uniform(10, 40) * px;
    cv::Mat img(size, CV_8UC3);
    for (int y = 0; y < size.height; ++y) {
        const auto* l = land.ptr<cv::Vec3b>(y);
        const auto* s = sea.ptr<cv::Vec3b>(y);
        const float* wr = wobble.ptr<float>(y);
        auto* out = img.ptr<cv::Vec3b>(y);
        for (int x = 0; x < size.width; ++x) {
            const double along = vertical ? x : y, across = vertical ? y : x;
            const double limit =
                (vertical ? size.width : size.height) * at + amp * std::sin(across / (70 * px)) + 25 * px * wr[x];
            const double d = (along - limit) * (flip ? -1 : 1) / px; // > 0: water
            const double seaAmount = std::clamp(d / 3 + 0.5, 0.0, 1.0);
            const double foam = std::max(0.0, 1 - std::abs(d - 6) / 6) * 0.8;
            for (int k = 0; k < 3; ++k) {
                const double v = l[x][k] * (1 - seaAmount) + s[x][k] * seaAmount;
                out[x][k] = cv::saturate_cast<uint8_t>(v + (240 - v) * foam);
            }
        }
    }
    return img;
}

void drawRoad(cv::Mat& img, Rng& rng)
{
    const cv::Size size = img.size();
    const double angle = rng.uniform(0, kPi);
    const cv::Point2d dir(std::cos(angle), std::sin(angle)), normal(-dir.y, dir.x);
    const cv::Point2d c(rng.uniform(0.2, 0.8) * size.width, rng.uniform(0.2, 0.8) * size.height);
    const double reach = size.width + size.height;
    const int width = rng.integer(55, 110);
    const cv::Scalar asphalt = jitter(cv::Scalar::all(rng.uniform(70, 110)), rng, 5);
    cv::line(img, c - dir * reach, c + dir * reach, asphalt, width, cv::LINE_AA);
    // Worn patches keep the asphalt from being a flat colour.
    const int patches = rng.integer(2, 6);
    for (int i = 0; i < patches; ++i) {
        const cv::Point2d at = c + dir * rng.uniform(-0.6, 0.6) * reach + normal * rng.uniform(-0.3, 0.3) * width;
        cv::ellipse(img, cv::RotatedRect(at, cv::Size2f(float(rng.uniform(20, 80)), float(rng.uniform(8, 0.5 * width))),
                                         float(angle * 180 / kPi)),
                    asphalt * rng.uniform(0.85, 1.1), cv::FILLED, cv::LINE_AA);
    }
    const cv::Scalar white = jitter(cv::Scalar::all(225), rng, 6);
    for (double side : {-1.0, 1.0}) {
        const cv::Point2d off = normal * side * (width / 2.0 - 7);
        cv::line(img, c + off - dir * reach, c + off + dir * reach, white, 2, cv::LINE_AA);
    }
    const cv::Scalar centreColour = rng.chance(0.3) ? bgr(235, 200, 40) : white;
    const double dash = rng.uniform(15, 30);
    for (double s = -reach; s < reach; s += 2.2 * dash)
        cv::line(img, c + dir * s, c + dir * (s + dash), centreColour, 3, cv::LINE_AA);
}

void drawParkingBays(cv::Mat& img, Rng& rng)
{
    const int y0 = rng.integer(0, img.rows - 80), len = rng.integer(40, 70), gap = rng.integer(35, 60);
    const cv::Scalar paint = jitter(cv::Scalar::all(225), rng, 8);
    // Short parallel lines, never closed shapes (a grid would look like a building's windows).
    for (int x = rng.integer(0, 30); x < img.cols; x += gap)
        cv::line(img, {x, y0}, {x, y0 + len}, paint, 3, cv::LINE_AA);
}

// Things that are not objects: rocks, bushes, dirt patches, foam. Deliberately drawn unlike any
// class (no wheels, windows, figures or dark ellipses).
void drawDistractors(cv::Mat& img8, Scene scene, Rng& rng)
{
    const int count = rng.integer(0, 4);
    for (int i = 0; i < count; ++i) {
        const cv::Point2d c(rng.uniform(0, img8.cols), rng.uniform(0, img8.rows));
        if (scene == Scene::Water) {
            const cv::Scalar foam = jitter(cv::Scalar::all(225), rng, 10);
            for (int k = 0; k < 6; ++k)
                cv::ellipse(img8,
                            cv::RotatedRect(c + cv::Point2d(rng.normal() * 15, rng.normal() * 6),
                                            cv::Size2f(float(rng.uniform(10, 40)), float(rng.uniform(2, 5))), 0),
                            foam, cv::FILLED, cv::LINE_AA);
            continue;
        }
        // No dirt patches on beaches: over water they would look like a whale.
        const int kind = rng.integer(0, scene == Scene::Beach ? 1 : 2);
        if (kind == 0) { // rock: an irregular grey polygon
            const double r = rng.uniform(6, 22);
            std::vector<cv::Point> pts;
            const int n = rng.integer(6, 10);
            for (int k = 0; k < n; ++k) {
                const double a = 2 * kPi * k / n, rr = r * rng.uniform(0.6, 1.2);
                pts.emplace_back(c + cv::Point2d(std::cos(a) * rr, std::sin(a) * rr));
            }
            const cv::Scalar grey = jitter(cv::Scalar::all(rng.uniform(110, 160)), rng, 8);
            cv::fillPoly(img8, std::vector<std::vector<cv::Point>>{pts}, grey, cv::LINE_AA);
            cv::polylines(img8, std::vector<std::vector<cv::Point>>{pts}, true, grey * 0.7, 1, cv::LINE_AA);
        } else if (kind == 1) { // bush: overlapping dark green disks
            const int n = rng.integer(3, 7);
            const cv::Scalar leaf = jitter(bgr(40, 85, 35), rng, 10);
            for (int k = 0; k < n; ++k)
                cv::circle(img8, c + cv::Point2d(rng.normal() * 10, rng.normal() * 10), rng.integer(5, 14),
                           k % 2 ? leaf : leaf * 1.25, cv::FILLED, cv::LINE_AA);
        } else { // dirt patch, half transparent
            const cv::Size2f axes(float(rng.uniform(30, 120)), float(rng.uniform(20, 70)));
            const cv::Rect area = cv::Rect(cv::Point(c) - cv::Point(70, 70), cv::Size(140, 140)) &
                                  cv::Rect(0, 0, img8.cols, img8.rows);
            if (area.empty())
                continue;
            cv::Mat roi = img8(area), patch = roi.clone();
            cv::ellipse(patch, cv::RotatedRect(c - cv::Point2d(area.tl()), axes, float(rng.uniform(0, 180))),
                        jitter(bgr(120, 95, 65), rng, 10), cv::FILLED, cv::LINE_AA);
            cv::addWeighted(roi, 0.5, patch, 0.5, 0, roi);
        }
    }
}

} // namespace

Scene pickScene(int classId, Rng& rng)
{
    const double u = rng.uniform();
    switch (classId) {
    case Boat:
    case Whale:
    case Wakeboard:
        return u < 0.75 ? Scene::Water : Scene::Beach;
    case Car:
    case Truck:
        return u < 0.6 ? Scene::Road : u < 0.85 ? Scene::Pavement : Scene::Terrain;
    case Drone:
    case Paraglider: {
        static const Scene any[] = {Scene::Terrain, Scene::Water, Scene::Road,
                                    Scene::Sand,    Scene::Beach, Scene::Pavement};
        return any[rng.integer(0, 5)];
    }
    default: {
        static const Scene land[] = {Scene::Terrain, Scene::Terrain, Scene::Road,
                                     Scene::Sand,    Scene::Beach,   Scene::Pavement};
        return land[rng.integer(0, 5)];
    }
    }
}

cv::Mat makeBackground(Scene scene, cv::Size size, Rng& rng, cv::RNG& cvRng)
{
    const cv::Size half((size.width + 1) / 2, (size.height + 1) / 2);
    const double px = 0.5 * size.width / 640.0; // half-resolution pixels per reference pixel
    cv::Mat small;
    switch (scene) {
    case Scene::Terrain: small = terrain(half, px, rng, cvRng); break;
    case Scene::Water: small = water(half, px, rng, cvRng); break;
    case Scene::Sand: small = sand(half, px, rng, cvRng); break;
    case Scene::Beach: small = beach(half, px, rng, cvRng); break;
    case Scene::Pavement: small = pavement(half, px, rng, cvRng); break;
    case Scene::Road: small = rng.chance(0.7) ? terrain(half, px, rng, cvRng) : sand(half, px, rng, cvRng); break;
    }
    cv::Mat img;
    cv::resize(small, img, size, 0, 0, cv::INTER_LINEAR);
    if (scene == Scene::Road) {
        drawRoad(img, rng);
        if (rng.chance(0.25))
            drawRoad(img, rng);
    } else if (scene == Scene::Pavement && rng.chance(0.6)) {
        drawParkingBays(img, rng);
    }
    drawDistractors(img, scene, rng);
    return img;
}

} // namespace tyq::synthetic
