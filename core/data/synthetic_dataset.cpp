// The synthetic DAC-like dataset: each image is a textured background (terrain, water, road,
// sand, beach, pavement) with a few distractors and exactly one procedurally drawn object whose
// label box is measured from the drawn alpha mask, so it is tight by construction.
#include "data/synthetic_dataset.h"

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/dataset.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace tyq {
namespace fs = std::filesystem;

namespace {

constexpr int kNumClasses = 12;
constexpr int kWorkerThreads = 2;
// Objects are drawn at twice their final size and shrunk, which anti-aliases thin parts.
constexpr double kSupersample = 2.0;
constexpr double kPi = 3.14159265358979323846;

enum ClassId { Boat, Building, Car, Drone, Group, Horseride, Paraglider, Person, Riding, Truck, Wakeboard, Whale };

uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// Each image's stream depends only on (seed, split, index), so images can be drawn in any order.
uint64_t streamSeed(uint64_t seed, int split, uint64_t index)
{
    return splitmix64(splitmix64(splitmix64(seed) ^ (static_cast<uint64_t>(split) + 1)) ^ index);
}

// mt19937_64 with explicit mappings to doubles and ints; std::*_distribution results differ
// between standard libraries, these do not.
class Rng {
public:
    explicit Rng(uint64_t seed) : engine_(seed) {}
    uint64_t bits() { return engine_(); }
    double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    /// lo..hi inclusive.
    int integer(int lo, int hi) { return hi <= lo ? lo : lo + static_cast<int>(engine_() % uint64_t(hi - lo + 1)); }
    bool chance(double p) { return uniform() < p; }
    double normal()
    {
        const double u1 = 1.0 - uniform(), u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * kPi * u2);
    }
    template <class T> const T& pick(const std::vector<T>& v)
    {
        return v[static_cast<size_t>(integer(0, static_cast<int>(v.size()) - 1))];
    }

private:
    std::mt19937_64 engine_;
};

cv::Scalar jitter(const cv::Scalar& c, Rng& rng, double amount)
{
    const double brightness = rng.normal() * amount * 0.6;
    cv::Scalar out;
    for (int k = 0; k < 3; ++k)
        out[k] = std::clamp(c[k] + brightness + rng.normal() * amount * 0.5, 0.0, 255.0);
    return out;
}

cv::Scalar bgr(int r, int g, int b) { return cv::Scalar(b, g, r); }

// ---------------------------------------------------------------------------------------------
// Object sprites: premultiplied colour (drawn onto black) and alpha, drawn together so the
// alpha is exactly the object's coverage.

struct Sprite {
    cv::Mat color; // CV_8UC3, premultiplied by alpha
    cv::Mat alpha; // CV_8UC1
};

class Painter {
public:
    Painter(double w, double h) : w_(w), h_(h), margin_(std::ceil(0.1 * std::max(w, h)) + 4)
    {
        const cv::Size size(static_cast<int>(std::ceil(w + 2 * margin_)), static_cast<int>(std::ceil(h + 2 * margin_)));
        sprite_.color = cv::Mat(size, CV_8UC3, cv::Scalar::all(0));
        sprite_.alpha = cv::Mat(size, CV_8UC1, cv::Scalar::all(0));
    }

    double w() const { return w_; }
    double h() const { return h_; }
    double unit() const { return std::min(w_, h_); }
    /// A point given as fractions of the object's nominal box.
    cv::Point2d at(double fx, double fy) const { return {fx * w_, fy * h_}; }
    Sprite& sprite() { return sprite_; }

    void poly(const std::vector<cv::Point2d>& points, const cv::Scalar& c)
    {
        std::vector<cv::Point> fixed;
        for (const auto& p : points)
            fixed.push_back(fix(p));
        const cv::Point* data = fixed.data();
        const int n = static_cast<int>(fixed.size());
        cv::fillPoly(sprite_.color, &data, &n, 1, c, cv::LINE_AA, kShift);
        cv::fillPoly(sprite_.alpha, &data, &n, 1, cv::Scalar(255), cv::LINE_AA, kShift);
    }
    void ellipse(cv::Point2d centre, double ax, double ay, double angle, const cv::Scalar& c, double start = 0,
                 double end = 360, double thickness = -1)
    {
        const cv::Size axes(static_cast<int>(std::lround(ax * kScale)), static_cast<int>(std::lround(ay * kScale)));
        const int t = thick(thickness);
        cv::ellipse(sprite_.color, fix(centre), axes, angle, start, end, c, t, cv::LINE_AA, kShift);
        cv::ellipse(sprite_.alpha, fix(centre), axes, angle, start, end, cv::Scalar(255), t, cv::LINE_AA, kShift);
    }
    void circle(cv::Point2d centre, double r, const cv::Scalar& c, double thickness = -1)
    {
        const int radius = static_cast<int>(std::lround(r * kScale));
        const int t = thick(thickness);
        cv::circle(sprite_.color, fix(centre), radius, c, t, cv::LINE_AA, kShift);
        cv::circle(sprite_.alpha, fix(centre), radius, cv::Scalar(255), t, cv::LINE_AA, kShift);
    }
    void line(cv::Point2d a, cv::Point2d b, const cv::Scalar& c, double thickness)
    {
        const int t = thick(thickness);
        cv::line(sprite_.color, fix(a), fix(b), c, t, cv::LINE_AA, kShift);
        cv::line(sprite_.alpha, fix(a), fix(b), cv::Scalar(255), t, cv::LINE_AA, kShift);
    }
    void rect(cv::Point2d a, cv::Point2d b, const cv::Scalar& c)
    {
        poly({a, {b.x, a.y}, b, {a.x, b.y}}, c);
    }
    void roundRect(cv::Point2d a, cv::Point2d b, double r, const cv::Scalar& c)
    {
        r = std::min({r, (b.x - a.x) / 2, (b.y - a.y) / 2});
        rect({a.x + r, a.y}, {b.x - r, b.y}, c);
        rect({a.x, a.y + r}, {b.x, b.y - r}, c);
        for (const cv::Point2d& k : {cv::Point2d(a.x + r, a.y + r), cv::Point2d(b.x - r, a.y + r),
                                     cv::Point2d(a.x + r, b.y - r), cv::Point2d(b.x - r, b.y - r)})
            circle(k, r, c);
    }

private:
    static constexpr int kShift = 4;
    static constexpr double kScale = 1 << kShift;
    cv::Point fix(cv::Point2d p) const
    {
        return {static_cast<int>(std::lround((p.x + margin_) * kScale)),
                static_cast<int>(std::lround((p.y + margin_) * kScale))};
    }
    static int thick(double t) { return t < 0 ? cv::FILLED : std::max(1, static_cast<int>(std::lround(t))); }

    double w_, h_, margin_;
    Sprite sprite_;
};

// Plausible aspect ratios (width / height) per class.
struct AspectRange {
    double lo, hi;
};
const AspectRange kAspect[kNumClasses] = {
    {1.4, 2.2},  // boat
    {0.7, 1.4},  // building
    {1.7, 2.3},  // car (seen from above)
    {0.9, 1.15}, // drone
    {1.1, 1.8},  // group
    {1.1, 1.45}, // horseride
    {0.75, 1.0}, // paraglider
    {0.3, 0.45}, // person
    {1.2, 1.55}, // riding
    {2.4, 3.3},  // truck
    {0.7, 1.0},  // wakeboard
    {1.9, 2.8},  // whale
};

const std::vector<cv::Scalar>& clothes()
{
    static const std::vector<cv::Scalar> c = {bgr(200, 30, 30),  bgr(30, 70, 200),  bgr(240, 200, 30),
                                              bgr(30, 150, 60),  bgr(240, 240, 240), bgr(20, 20, 20),
                                              bgr(230, 100, 20), bgr(150, 40, 160), bgr(40, 180, 200)};
    return c;
}
const std::vector<cv::Scalar>& skins()
{
    static const std::vector<cv::Scalar> c = {bgr(240, 200, 170), bgr(200, 150, 110), bgr(140, 95, 60),
                                              bgr(90, 60, 40)};
    return c;
}

void drawBoat(Painter& p, Rng& rng)
{
    auto P = [&](double x, double y) { return p.at(x, y); };
    const double u = p.unit();
    const bool orange = rng.chance(0.4);
    const cv::Scalar hull = jitter(orange ? bgr(250, 110, 20) : bgr(238, 238, 238), rng, 12);
    const cv::Scalar stripe = jitter(rng.chance(0.5) ? bgr(20, 40, 120) : bgr(190, 20, 30), rng, 15);
    const double deck = rng.uniform(0.55, 0.65);
    p.poly({P(0, deck), P(1, deck - 0.04), P(0.86, 1), P(0.1, 1)}, hull);
    p.line(P(0.05, deck + 0.12), P(0.93, deck + 0.09), stripe, 0.07 * u);
    // Cabin with dark windows.
    const cv::Scalar cabin = jitter(orange ? bgr(240, 240, 240) : bgr(200, 200, 205), rng, 10);
    p.rect(P(0.14, deck - 0.18), P(0.42, deck), cabin);
    for (int i = 0; i < 3; ++i)
        p.rect(P(0.17 + i * 0.085, deck - 0.14), P(0.22 + i * 0.085, deck - 0.07), bgr(30, 40, 60));
    // Mast and sail reach the top of the box.
    const double mastX = rng.uniform(0.48, 0.55);
    p.line(P(mastX, deck), P(mastX, 0.0), jitter(bgr(70, 60, 50), rng, 10), std::max(2.0, 0.035 * u));
    const cv::Scalar sail = jitter(rng.chance(0.75) ? bgr(248, 248, 240) : bgr(230, 60, 40), rng, 8);
    p.poly({P(mastX + 0.02, 0.03), P(mastX + 0.02, deck - 0.06), P(rng.uniform(0.82, 0.92), deck - 0.06)}, sail);
}

void drawBuilding(Painter& p, Rng& rng)
{
    auto P = [&](double x, double y) { return p.at(x, y); };
    static const std::vector<cv::Scalar> walls = {bgr(175, 175, 170), bgr(215, 190, 150), bgr(170, 80, 60),
                                                  bgr(215, 215, 210), bgr(150, 160, 175)};
    const cv::Scalar wall = jitter(rng.pick(walls), rng, 12);
    const cv::Scalar roof = wall * rng.uniform(0.45, 0.65);
    p.rect(P(0, 0.07), P(1, 1), wall);
    p.rect(P(0.0, 0.0), P(1.0, 0.1), roof);
    // Right face in shadow gives the block some depth.
    const double side = rng.uniform(0.08, 0.14);
    p.rect(P(1 - side, 0.1), P(1, 1), wall * 0.7);
    static const std::vector<cv::Scalar> glass = {bgr(30, 50, 90), bgr(40, 40, 45), bgr(120, 170, 210)};
    const cv::Scalar win = jitter(rng.pick(glass), rng, 10);
    const int rows = rng.integer(3, 7), cols = rng.integer(3, 5);
    const double x0 = 0.08, x1 = 1 - side - 0.06, y0 = 0.17, y1 = 0.95;
    const double cw = (x1 - x0) / cols, ch = (y1 - y0) / rows;
    const double fill = rng.uniform(0.5, 0.7);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
            const double wx = x0 + c * cw + cw * (1 - fill) / 2, wy = y0 + r * ch + ch * (1 - fill) / 2;
            p.rect(P(wx, wy), P(wx + cw * fill, wy + ch * fill), rng.chance(0.15) ? win * 0.6 : win);
        }
}

void drawCar(Painter& p, Rng& rng)
{
    auto P = [&](double x, double y) { return p.at(x, y); };
    static const std::vector<cv::Scalar> paints = {bgr(210, 25, 25), bgr(25, 70, 210), bgr(245, 205, 20),
                                                   bgr(40, 170, 50), bgr(150, 30, 170), bgr(20, 180, 200)};
    const cv::Scalar paint = jitter(rng.pick(paints), rng, 12);
    const cv::Scalar tyre = bgr(22, 22, 22);
    for (double x : {0.14, 0.68})
        for (double y : {0.0, 0.85})
            p.roundRect(P(x, y), P(x + 0.18, y + 0.15), 0.03 * p.unit(), tyre);
    p.roundRect(P(0, 0.08), P(1, 0.92), 0.28 * p.h(), paint);
    const cv::Scalar dark = bgr(35, 40, 50);
    p.poly({P(0.58, 0.2), P(0.72, 0.14), P(0.72, 0.86), P(0.58, 0.8)}, dark); // windscreen
    p.poly({P(0.18, 0.16), P(0.27, 0.22), P(0.27, 0.78), P(0.18, 0.84)}, dark); // rear window
    p.rect(P(0.29, 0.24), P(0.56, 0.76), paint * 1.12); // roof
    for (double y : {0.17, 0.72})
        p.rect(P(0.95, y), P(0.99, y + 0.11), bgr(250, 250, 210)); // headlights
}

void drawDrone(Painter& p, Rng& rng)
{
    auto P = [&](double x, double y) { return p.at(x, y); };
    const double u = p.unit();
    const bool white = rng.chance(0.2);
    const cv::Scalar body = jitter(white ? bgr(225, 225, 225) : bgr(40, 40, 42), rng, 8);
    const cv::Scalar arm = jitter(bgr(45, 45, 48), rng, 6);
    const double r = rng.uniform(0.17, 0.2);
    const std::vector<cv::Point2d> rotors = {P(r, r), P(1 - r, r), P(r, 1 - r), P(1 - r, 1 - r)};
    const double rotorR = r * u;
    for (const auto& rp : rotors)
        p.line(P(0.5, 0.5), rp, arm, 0.08 * u);
    const cv::Scalar disc = jitter(bgr(150, 150, 155), rng, 10);
    for (const auto& rp : rotors) {
        p.circle(rp, rotorR, disc);
        p.circle(rp, rotorR - 0.015 * u, bgr(25, 25, 25), std::max(2.0, 0.03 * u));
        const double a = rng.uniform(0, kPi);
        const cv::Point2d d(std::cos(a) * rotorR * 0.9, std::sin(a) * rotorR * 0.9);
        p.line(rp - d, rp + d, bgr(30, 30, 30), std::max(2.0, 0.035 * u));
        p.circle(rp, 0.04 * u, arm);
    }
    p.roundRect(P(0.36, 0.36), P(0.64, 0.64), 0.05 * u, body);
    p.circle(P(0.5, 0.5), 0.06 * u, bgr(15, 15, 15));
    p.circle(P(0.4, 0.4), 0.025 * u, bgr(255, 30, 30));
    p.circle(P(0.6, 0.4), 0.025 * u, bgr(30, 255, 60));
}

void drawGroup(Painter& p, Rng& rng)
{
    const int n = rng.integer(3, 5);
    const double r = 0.18 * std::min(p.h(), p.w() / 2.2) * 1.3;
    std::vector<cv::Point2d> centres;
    for (int tries = 0; static_cast<int>(centres.size()) < n && tries < 200; ++tries) {
        const cv::Point2d c(rng.uniform(r, p.w() - r), rng.uniform(r, p.h() - r));
        bool clear = true;
        for (const auto& o : centres)
            clear = clear && cv::norm(c - o) > 1.25 * r;
        if (clear || tries > 150)
            centres.push_back(c);
    }
    for (const auto& c : centres) {
        // A person seen from above: shoulders (ellipse) and head.
        const double angle = rng.uniform(0, 180);
        p.ellipse(c, r, 0.55 * r, angle, jitter(rng.pick(clothes()), rng, 15));
        static const std::vector<cv::Scalar> hair = {bgr(30, 20, 15), bgr(90, 60, 30), bgr(220, 190, 120),
                                                     bgr(240, 200, 170)};
        p.circle(c, 0.42 * r, jitter(rng.pick(hair), rng, 8));
    }
}

void drawHorseride(Painter& p, Rng& rng)
{
    auto P = [&](double x, double y) { return p.at(x, y); };
    const double u = p.unit();
    static const std::vector<cv::Scalar> coats = {bgr(130, 70, 30), bgr(90, 50, 25), bgr(160, 100, 50),
                                                  bgr(60, 35, 20)};
    const cv::Scalar coat = jitter(rng.pick(coats), rng, 10);
    const cv::Scalar dark = coat * 0.45;
    // Legs, then tail, body, neck and head.
    const double legT = 0.07 * p.w();
    for (double x : {0.24, 0.33, 0.6, 0.69}) {
        const double swing = rng.uniform(-0.05, 0.05);
        p.line(P(x, 0.58), P(x + swing, 0.96), coat * 0.85, legT);
        p.line(P(x + swing, 0.94), P(x + swing, 0.99), dark, legT);
    }
    p.line(P(0.14, 0.46), P(0.04, 0.78), dark, 0.06 * u);
    p.ellipse(P(0.45, 0.53), 0.33 * p.w(), 0.15 * p.h(), 0, coat);
    p.poly({P(0.64, 0.48), P(0.72, 0.38), P(0.84, 0.15), P(0.91, 0.2), P(0.82, 0.5)}, coat);
    p.ellipse(P(0.9, 0.22), 0.09 * p.w(), 0.055 * p.h(), 35, coat);
    p.line(P(0.7, 0.38), P(0.84, 0.13), dark, 0.03 * u); // mane
    // Rider on the horse's back.
    const cv::Scalar shirt = jitter(rng.pick(clothes()), rng, 15);
    p.line(P(0.45, 0.42), P(0.53, 0.68), bgr(40, 40, 60), 0.07 * u); // leg
    p.poly({P(0.41, 0.44), P(0.52, 0.44), P(0.54, 0.18), P(0.44, 0.16)}, shirt);
    p.line(P(0.52, 0.22), P(0.72, 0.36), shirt, 0.05 * u); // arm to the reins
    p.circle(P(0.49, 0.09), 0.075 * p.h(), jitter(rng.pick(skins()), rng, 8));
    p.ellipse(P(0.49, 0.075), 0.075 * p.h(), 0.05 * p.h(), 0, bgr(25, 25, 25), 180, 360); // helmet
}

void drawParaglider(Painter& p, Rng& rng)
{
    auto P = [&](double x, double y) { return p.at(x, y); };
    const double u = p.unit();
    static const std::vector<cv::Scalar> canopyColours = {bgr(230, 30, 30), bgr(250, 210, 20), bgr(30, 90, 230),
                                                          bgr(250, 120, 10), bgr(40, 200, 70), bgr(220, 40, 180)};
    const cv::Scalar c1 = jitter(rng.pick(canopyColours), rng, 10);
    cv::Scalar c2 = jitter(rng.pick(canopyColours), rng, 10);
    if (cv::norm(c1 - c2) < 60)
        c2 = bgr(245, 245, 245);
    const cv::Point2d centre = P(0.5, 0.45);
    const double ax = 0.5 * p.w(), ay = 0.43 * p.h();
    const double thickness = rng.uniform(0.12, 0.17) * p.h();
    const double a0 = 200, a1 = 340;
    const int cells = 2 * rng.integer(3, 4) + 1;
    auto onArc = [&](double deg, double shrink) {
        const double a = deg * kPi / 180;
        return centre + cv::Point2d(std::cos(a) * (ax - shrink), std::sin(a) * (ay - shrink));
    };
    // Lines from the canopy's underside to the pilot.
    const cv::Point2d pilot = P(0.5, 0.84);
    for (int i = 0; i <= cells; ++i) {
        const double deg = a0 + (a1 - a0) * i / cells;
        p.line(onArc(deg, thickness), pilot - cv::Point2d(0, 0.05 * p.h()), bgr(50, 50, 50), std::max(1.0, 0.008 * u));
    }
    for (int i = 0; i < cells; ++i) {
        std::vector<cv::Point2d> quad;
        const double s = a0 + (a1 - a0) * i / cells, e = a0 + (a1 - a0) * (i + 1) / cells;
        for (int k = 0; k <= 4; ++k)
            quad.push_back(onArc(s + (e - s) * k / 4, 0));
        for (int k = 4; k >= 0; --k)
            quad.push_back(onArc(s + (e - s) * k / 4, thickness));
        p.poly(quad, i % 2 ? c2 : c1);
    }
    // Pilot in a harness.
    p.circle(pilot - cv::Point2d(0, 0.06 * p.h()), 0.035 * p.h(), jitter(rng.pick(skins()), rng, 8));
    p.roundRect(pilot - cv::Point2d(0.045 * p.w(), 0.03 * p.h()), pilot + cv::Point2d(0.045 * p.w(), 0.09 * p.h()),
                0.01 * u, jitter(rng.pick(clothes()), rng, 10));
    p.line(pilot + cv::Point2d(0, 0.08 * p.h()), P(0.54, 1.0), bgr(40, 40, 50), 0.03 * u);
}

void drawPerson(Painter& p, Rng& rng)
{
    auto P = [&](double x, double y) { return p.at(x, y); };
    const double w = p.w();
    static const std::vector<cv::Scalar> trousers = {bgr(40, 60, 110), bgr(30, 30, 30), bgr(170, 150, 110),
                                                     bgr(80, 80, 80)};
    const cv::Scalar shirt = jitter(rng.pick(clothes()), rng, 15);
    const cv::Scalar legs = jitter(rng.pick(trousers), rng, 10);
    const cv::Scalar skin = jitter(rng.pick(skins()), rng, 8);
    const double stride = rng.uniform(0.0, 0.18);
    p.line(P(0.38, 0.56), P(0.32 - stride, 0.97), legs, 0.22 * w);
    p.line(P(0.62, 0.56), P(0.68 + stride, 0.97), legs, 0.22 * w);
    p.roundRect(P(0.2, 0.17), P(0.8, 0.6), 0.12 * w, shirt);
    p.line(P(0.24, 0.22), P(0.1, 0.52), shirt, 0.16 * w);
    p.line(P(0.76, 0.22), P(0.9, 0.52), shirt, 0.16 * w);
    p.circle(P(0.1, 0.55), 0.08 * w, skin);
    p.circle(P(0.9, 0.55), 0.08 * w, skin);
    p.circle(P(0.5, 0.085), 0.075 * p.h(), skin);
    p.ellipse(P(0.5, 0.07), 0.078 * p.h(), 0.05 * p.h(), 0, jitter(bgr(40, 30, 20), rng, 20), 180, 360); // hair
}

void drawRiding(Painter& p, Rng& rng)
{
    auto P = [&](double x, double y) { return p.at(x, y); };
    const double u = p.unit();
    const double R = 0.25 * p.h();
    const cv::Point2d rear(R, p.h() - R), front(p.w() - R, p.h() - R);
    const cv::Scalar tyre = bgr(20, 20, 20);
    for (const auto& c : {rear, front}) {
        p.circle(c, R - 0.03 * p.h(), tyre, 0.06 * p.h());
        p.line(c - cv::Point2d(R * 0.8, 0), c + cv::Point2d(R * 0.8, 0), bgr(150, 150, 150), 1);
        p.line(c - cv::Point2d(0, R * 0.8), c + cv::Point2d(0, R * 0.8), bgr(150, 150, 150), 1);
    }
    static const std::vector<cv::Scalar> frames = {bgr(220, 30, 30), bgr(30, 100, 230), bgr(40, 190, 60),
                                                   bgr(240, 220, 30), bgr(240, 240, 240)};
    const cv::Scalar frame = jitter(rng.pick(frames), rng, 10);
    const cv::Point2d seat = P(0.4, 0.47), bracket = P(0.47, 0.75), head = P(0.72, 0.45);
    const double ft = 0.045 * p.h();
    p.line(rear, seat, frame, ft);
    p.line(rear, bracket, frame, ft);
    p.line(seat, bracket, frame, ft);
    p.line(seat, head, frame, ft);
    p.line(bracket, head, frame, ft);
    p.line(head, front, frame, ft);
    p.line(head, P(0.74, 0.36), bgr(30, 30, 30), ft);
    // Rider leaning forward.
    const cv::Scalar shirt = jitter(rng.pick(clothes()), rng, 15);
    const cv::Point2d shoulder = P(0.6, 0.2);
    p.line(seat - cv::Point2d(0, 0.03 * p.h()), P(0.5, 0.62), bgr(40, 40, 60), 0.07 * u);
    p.line(P(0.5, 0.62), P(0.49, 0.85), bgr(40, 40, 60), 0.06 * u);
    p.line(seat - cv::Point2d(0, 0.03 * p.h()), shoulder, shirt, 0.12 * u);
    p.line(shoulder, P(0.74, 0.36), shirt, 0.05 * u);
    p.circle(P(0.65, 0.1), 0.085 * p.h(), jitter(rng.pick(skins()), rng, 8));
    p.ellipse(P(0.65, 0.085), 0.09 * p.h(), 0.065 * p.h(), 0, jitter(rng.pick(frames), rng, 10), 180, 360); // helmet
}

void drawTruck(Painter& p, Rng& rng)
{
    auto P = [&](double x, double y) { return p.at(x, y); };
    static const std::vector<cv::Scalar> cargoColours = {bgr(238, 238, 238), bgr(190, 190, 195), bgr(40, 90, 160),
                                                         bgr(180, 40, 40), bgr(60, 130, 60)};
    static const std::vector<cv::Scalar> cabColours = {bgr(200, 30, 30), bgr(30, 60, 180), bgr(240, 240, 240),
                                                       bgr(240, 190, 20)};
    const cv::Scalar cargo = jitter(rng.pick(cargoColours), rng, 10);
    const cv::Scalar cab = jitter(rng.pick(cabColours), rng, 10);
    p.rect(P(0.0, 0.0), P(0.72, 0.78), cargo);
    for (int i = 1; i < 8; ++i) // ribs of the box
        p.line(P(i * 0.09, 0.03), P(i * 0.09, 0.75), cargo * 0.8, std::max(1.0, 0.004 * p.w()));
    p.rect(P(0.0, 0.76), P(1.0, 0.85), bgr(30, 30, 30)); // chassis
    p.poly({P(0.74, 0.85), P(0.74, 0.22), P(0.9, 0.22), P(1.0, 0.45), P(1.0, 0.85)}, cab);
    p.poly({P(0.86, 0.28), P(0.91, 0.28), P(0.97, 0.46), P(0.86, 0.46)}, bgr(200, 220, 235)); // window
    const double r = 0.15 * p.h();
    for (double x : {0.1, 0.22, 0.6, 0.88}) {
        const cv::Point2d c(x * p.w(), p.h() - r);
        p.circle(c, r, bgr(20, 20, 20));
        p.circle(c, 0.45 * r, bgr(150, 150, 150));
    }
}

void drawWakeboard(Painter& p, Rng& rng)
{
    auto P = [&](double x, double y) { return p.at(x, y); };
    const double u = p.unit();
    // Spray fanning out behind the board.
    const int drops = rng.integer(25, 40);
    for (int i = 0; i < drops; ++i) {
        const double t = rng.uniform();
        const cv::Point2d c = P(0.05 + 0.45 * t + rng.uniform(-0.05, 0.05), 0.95 - 0.35 * (1 - t) * rng.uniform());
        p.circle(c, rng.uniform(0.02, 0.055) * u, jitter(bgr(245, 248, 250), rng, 5));
    }
    static const std::vector<cv::Scalar> boards = {bgr(250, 220, 20), bgr(40, 220, 80), bgr(240, 60, 160),
                                                   bgr(250, 120, 20)};
    p.ellipse(P(0.58, 0.92), 0.34 * p.w(), 0.06 * p.h(), -8, jitter(rng.pick(boards), rng, 8));
    const cv::Scalar suit = jitter(rng.chance(0.6) ? bgr(25, 25, 30) : rng.pick(clothes()), rng, 8);
    const cv::Scalar vest = jitter(rng.pick(clothes()), rng, 10);
    p.line(P(0.46, 0.88), P(0.5, 0.66), suit, 0.08 * u);
    p.line(P(0.7, 0.86), P(0.6, 0.66), suit, 0.08 * u);
    p.line(P(0.52, 0.66), P(0.58, 0.55), suit, 0.12 * u);
    p.line(P(0.57, 0.56), P(0.67, 0.28), vest, 0.14 * u);
    p.line(P(0.66, 0.32), P(0.94, 0.4), suit, 0.055 * u); // arms to the handle
    p.line(P(0.96, 0.32), P(0.96, 0.48), bgr(30, 30, 30), 0.035 * u);
    p.circle(P(0.7, 0.17), 0.075 * p.h(), jitter(rng.pick(skins()), rng, 8));
}

void drawWhale(Painter& p, Rng& rng)
{
    auto P = [&](double x, double y) { return p.at(x, y); };
    static const std::vector<cv::Scalar> greys = {bgr(65, 72, 82), bgr(55, 58, 62), bgr(80, 85, 95)};
    const cv::Scalar skin = jitter(rng.pick(greys), rng, 6);
    // Flukes and tail stock, pectoral fins, then the body over them.
    p.ellipse(P(0.92, 0.27), 0.08 * p.w(), 0.24 * p.h(), -25, skin);
    p.ellipse(P(0.92, 0.73), 0.08 * p.w(), 0.24 * p.h(), 25, skin);
    p.poly({P(0.7, 0.3), P(0.92, 0.44), P(0.92, 0.56), P(0.7, 0.7)}, skin);
    p.ellipse(P(0.3, 0.16), 0.1 * p.w(), 0.1 * p.h(), -30, skin * 0.85);
    p.ellipse(P(0.3, 0.84), 0.1 * p.w(), 0.1 * p.h(), 30, skin * 0.85);
    p.ellipse(P(0.4, 0.5), 0.38 * p.w(), 0.34 * p.h(), 0, skin);
    p.ellipse(P(0.38, 0.5), 0.28 * p.w(), 0.14 * p.h(), 0, skin * 1.25); // lighter back ridge
    const int patches = rng.integer(3, 7);
    for (int i = 0; i < patches; ++i)
        p.circle(P(rng.uniform(0.12, 0.6), rng.uniform(0.3, 0.7)), rng.uniform(0.02, 0.05) * p.h(), bgr(175, 175, 170));
    p.circle(P(0.13, 0.5), 0.035 * p.h(), bgr(30, 30, 35)); // blowhole
}

using DrawFn = void (*)(Painter&, Rng&);
const DrawFn kDraw[kNumClasses] = {drawBoat,       drawBuilding, drawCar,    drawDrone,  drawGroup, drawHorseride,
                                   drawParaglider, drawPerson,   drawRiding, drawTruck, drawWakeboard, drawWhale};

// A small rotation and maybe a mirror, then a crop to the visible object.
Sprite orientSprite(const Sprite& sprite, int classId, Rng& rng)
{
    Sprite in;
    if (rng.chance(0.5)) {
        cv::flip(sprite.color, in.color, 1);
        cv::flip(sprite.alpha, in.alpha, 1);
    } else {
        in = sprite;
    }
    const double maxAngle = (classId == Person || classId == Building) ? 5 : 12;
    const double angle = rng.uniform(-maxAngle, maxAngle);
    const cv::Point2f centre(in.color.cols / 2.f, in.color.rows / 2.f);
    cv::Mat m = cv::getRotationMatrix2D(centre, angle, 1.0);
    const cv::Rect2f bounds =
        cv::RotatedRect(centre, cv::Size2f(in.color.size()), static_cast<float>(angle)).boundingRect2f();
    m.at<double>(0, 2) += bounds.width / 2 - centre.x;
    m.at<double>(1, 2) += bounds.height / 2 - centre.y;
    const cv::Size size(static_cast<int>(std::ceil(bounds.width)), static_cast<int>(std::ceil(bounds.height)));
    Sprite out;
    cv::warpAffine(in.color, out.color, m, size, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
    cv::warpAffine(in.alpha, out.alpha, m, size, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));

    // Faint anti-aliasing fringes do not count as object.
    cv::Mat solid;
    cv::threshold(out.alpha, solid, 24, 255, cv::THRESH_BINARY);
    const cv::Rect tight = cv::boundingRect(solid);
    out.color = out.color(tight);
    out.alpha = out.alpha(tight);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Backgrounds. Smooth textures are computed at half resolution and scaled up (large float
// temporaries are the main cost); sharp things (roads, markings, distractors) are drawn at full
// resolution. Sizes below are in full-resolution pixels of a 640-wide image.

enum class Scene { Terrain, Water, Road, Sand, Beach, Pavement };

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

// ---------------------------------------------------------------------------------------------
// One image.

struct Rendered {
    cv::Mat image;
    BoxLabel box;
};

// Box size in pixels: the sampled area shaped by the drawn aspect ratio, kept inside the image
// and, after rounding, inside the area bounds.
cv::Size boxSize(double aspect, double area, double minArea, double maxArea, cv::Size image)
{
    int w = std::clamp(static_cast<int>(std::lround(std::sqrt(area * aspect))), 2, image.width);
    int h = std::clamp(static_cast<int>(std::lround(area / w)), 2, image.height);
    w = std::clamp(static_cast<int>(std::lround(area / h)), 2, image.width);
    while (double(w) * h > maxArea && h > 2)
        --h;
    while (double(w) * h < minArea && h < image.height)
        ++h;
    while (double(w) * h < minArea && w < image.width)
        ++w;
    return {w, h};
}

Rendered renderSample(const SyntheticDatasetOptions& options, int classId, uint64_t seed)
{
    Rng rng(seed);
    cv::RNG cvRng(rng.bits());
    const cv::Size size(options.width, options.height);
    const double imageArea = double(size.width) * size.height;
    const double minArea = options.minAreaFraction * imageArea, maxArea = options.maxAreaFraction * imageArea;

    cv::Mat image = makeBackground(pickScene(classId, rng), size, rng, cvRng);

    // sqrt(area) uniform: small and large objects equally common on a linear size scale.
    const double side = rng.uniform(std::sqrt(minArea), std::sqrt(maxArea));
    const double area = side * side;
    const double aspect = rng.uniform(kAspect[classId].lo, kAspect[classId].hi);
    Painter painter(std::sqrt(area * aspect) * kSupersample, std::sqrt(area / aspect) * kSupersample);
    kDraw[classId](painter, rng);
    Sprite sprite = orientSprite(painter.sprite(), classId, rng);

    const cv::Size box = boxSize(double(sprite.color.cols) / sprite.color.rows, area, minArea, maxArea, size);
    cv::Mat color, alpha;
    cv::resize(sprite.color, color, box, 0, 0, cv::INTER_AREA);
    cv::resize(sprite.alpha, alpha, box, 0, 0, cv::INTER_AREA);

    // Composite (colour is premultiplied) with a light gradient and grain on the object.
    const int x0 = rng.integer(0, size.width - box.width), y0 = rng.integer(0, size.height - box.height);
    const double gx = rng.uniform(-0.25, 0.25) / box.width, gy = rng.uniform(-0.25, 0.25) / box.height;
    const double grain = rng.uniform(3, 8);
    for (int y = 0; y < box.height; ++y) {
        auto* out = image.ptr<cv::Vec3b>(y0 + y) + x0;
        const auto* c = color.ptr<cv::Vec3b>(y);
        const uint8_t* a = alpha.ptr<uint8_t>(y);
        for (int x = 0; x < box.width; ++x) {
            if (a[x] == 0)
                continue;
            const double cover = a[x] / 255.0;
            const double light = 1 + gx * (x - box.width / 2.0) + gy * (y - box.height / 2.0);
            const double g = cvRng.gaussian(grain) * cover;
            for (int k = 0; k < 3; ++k) {
                const double object = std::clamp(c[x][k] * light + g, 0.0, 255.0 * cover);
                out[x][k] = cv::saturate_cast<uint8_t>(out[x][k] * (1 - cover) + object);
            }
        }
    }

    // Camera: a little blur, exposure, sensor noise. The noise is made a row at a time: a
    // whole-image noise buffer costs more in fresh memory pages than in arithmetic.
    if (rng.chance(0.3))
        cv::GaussianBlur(image, image, cv::Size(0, 0), rng.uniform(0.5, 1.1));
    const float gain = static_cast<float>(rng.uniform(0.8, 1.2)), offset = static_cast<float>(rng.uniform(-20, 20));
    const float sigma = static_cast<float>(rng.uniform(1.5, 5));
    cv::Mat noise(1, size.width * 3, CV_32F);
    for (int y = 0; y < size.height; ++y) {
        cvRng.fill(noise, cv::RNG::NORMAL, 0.f, sigma);
        uint8_t* row = image.ptr<uint8_t>(y);
        const float* n = noise.ptr<float>();
        for (int i = 0; i < size.width * 3; ++i)
            row[i] = cv::saturate_cast<uint8_t>(row[i] * gain + offset + n[i]);
    }

    Rendered out;
    out.image = image;
    out.box.classId = classId;
    out.box.cx = static_cast<float>((x0 + box.width / 2.0) / size.width);
    out.box.cy = static_cast<float>((y0 + box.height / 2.0) / size.height);
    out.box.w = static_cast<float>(double(box.width) / size.width);
    out.box.h = static_cast<float>(double(box.height) / size.height);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Files and threads.

void writeFile(const fs::path& path, const void* data, size_t size)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.close();
    if (!out)
        fail(path, "cannot write the file");
}

std::string sampleName(int index)
{
    char name[32];
    std::snprintf(name, sizeof name, "%06d", index);
    return name;
}

const char* const kSplitNames[2] = {"train", "val"};

struct Job {
    int split = 0;
    int index = 0;
    int classId = 0;
};

void writeSample(const SyntheticDatasetOptions& options, const Job& job)
{
    const Rendered r = renderSample(options, job.classId, streamSeed(options.seed, job.split, job.index));
    const std::string name = sampleName(job.index), split = kSplitNames[job.split];
    std::vector<uint8_t> jpeg;
    if (!cv::imencode(".jpg", r.image, jpeg, {cv::IMWRITE_JPEG_QUALITY, options.jpegQuality}))
        fail(options.outDir / "images" / split / (name + ".jpg"), "JPEG encoding failed");
    writeFile(options.outDir / "images" / split / (name + ".jpg"), jpeg.data(), jpeg.size());

    char line[128];
    const int n = std::snprintf(line, sizeof line, "%d %.6f %.6f %.6f %.6f\n", r.box.classId, r.box.cx, r.box.cy,
                                r.box.w, r.box.h);
    writeFile(options.outDir / "labels" / split / (name + ".txt"), line, static_cast<size_t>(n));
    const std::string xml = vocAnnotationXml(name + ".jpg", options.width, options.height, {r.box}, dacClassNames());
    writeFile(options.outDir / "annotations" / split / (name + ".xml"), xml.data(), xml.size());
}

// Balanced classes: i % 12, shuffled per split (Fisher-Yates with our own Rng).
std::vector<int> classOrder(uint64_t seed, int split, int count)
{
    std::vector<int> order(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i)
        order[i] = i % kNumClasses;
    Rng rng(streamSeed(seed, split, ~0ull));
    for (int i = count - 1; i > 0; --i)
        std::swap(order[i], order[rng.integer(0, i)]);
    return order;
}

void validate(const SyntheticDatasetOptions& o)
{
    auto bad = [&](const std::string& problem) { throw Error("synthetic dataset: " + problem); };
    if (o.outDir.empty())
        bad("no output folder given");
    if (o.trainCount < 0 || o.valCount < 0 || o.trainCount > 1'000'000 || o.valCount > 1'000'000)
        bad("image counts must be 0..1000000");
    if (o.width < 64 || o.height < 64 || o.width > 8192 || o.height > 8192)
        bad("image size must be 64..8192 pixels per side");
    if (!(o.minAreaFraction > 0) || !(o.maxAreaFraction <= 0.5) || o.minAreaFraction > o.maxAreaFraction)
        bad("object area fractions must satisfy 0 < min <= max <= 0.5");
    if (o.minAreaFraction * o.width * o.height < 64)
        bad("the smallest object would be under 64 pixels; raise minAreaFraction");
    if (o.jpegQuality < 1 || o.jpegQuality > 100)
        bad("JPEG quality must be 1..100");
}

// Joins its threads on every way out, after asking them to stop.
class Workers {
public:
    explicit Workers(std::atomic<bool>& stop) : stop_(stop) {}
    ~Workers() { join(); }
    template <class F> void start(int n, F f)
    {
        for (int i = 0; i < n; ++i)
            threads_.emplace_back(f);
    }
    void join()
    {
        stop_ = true;
        for (auto& t : threads_)
            if (t.joinable())
                t.join();
    }

private:
    std::atomic<bool>& stop_;
    std::vector<std::thread> threads_;
};

} // namespace

SyntheticDatasetResult generateSyntheticDataset(const SyntheticDatasetOptions& options,
                                                const std::function<bool(int, int)>& progress)
{
    validate(options);
    for (const char* kind : {"images", "labels", "annotations"})
        for (const char* split : kSplitNames) {
            const fs::path dir = options.outDir / kind / split;
            std::error_code ec;
            fs::create_directories(dir, ec);
            if (ec)
                fail(dir, "cannot create the folder: " + ec.message());
        }

    std::vector<Job> jobs;
    const int counts[2] = {options.trainCount, options.valCount};
    for (int split = 0; split < 2; ++split) {
        const std::vector<int> classes = classOrder(options.seed, split, counts[split]);
        for (int i = 0; i < counts[split]; ++i)
            jobs.push_back({split, i, classes[i]});
    }
    const int total = static_cast<int>(jobs.size());

    // Workers draw and write images; this thread only reports progress, so the callback
    // always runs on the caller's thread.
    std::atomic<bool> stop{false};
    std::atomic<int> next{0};
    std::mutex mutex;
    std::condition_variable changed;
    int done = 0, running = 0;
    std::vector<char> finished(jobs.size(), 0);
    std::exception_ptr error;
    bool cancelled = false;
    {
        Workers workers(stop);
        const int threads = std::min(kWorkerThreads, total);
        running = threads;
        workers.start(threads, [&] {
            while (!stop) {
                const int j = next++;
                if (j >= total)
                    break;
                try {
                    writeSample(options, jobs[j]);
                } catch (...) {
                    std::lock_guard<std::mutex> lock(mutex);
                    if (!error)
                        error = std::current_exception();
                    stop = true;
                    break;
                }
                std::lock_guard<std::mutex> lock(mutex);
                finished[j] = 1;
                ++done;
                changed.notify_one();
            }
            std::lock_guard<std::mutex> lock(mutex);
            --running;
            changed.notify_one();
        });

        int reported = 0;
        std::unique_lock<std::mutex> lock(mutex);
        while (true) {
            changed.wait(lock, [&] { return done > reported || running == 0; });
            const int nowDone = done;
            const bool allStopped = running == 0;
            lock.unlock();
            while (reported < nowDone && !cancelled) {
                ++reported;
                if (progress && !progress(reported, total)) {
                    cancelled = true;
                    stop = true;
                }
            }
            lock.lock();
            if (cancelled || (allStopped && reported == done))
                break;
        }
        lock.unlock();
        workers.join();
    }
    if (error)
        std::rethrow_exception(error);

    SyntheticDatasetResult result;
    for (size_t j = 0; j < jobs.size(); ++j)
        if (finished[j])
            ++(jobs[j].split == 0 ? result.trainCount : result.valCount);
    if (cancelled)
        return result;

    std::string names;
    for (const auto& name : dacClassNames())
        names += name + "\n";
    writeFileAtomically(options.outDir / "dac.names", names);
    for (int split = 0; split < 2; ++split) {
        std::string list;
        for (int i = 0; i < counts[split]; ++i)
            list += std::string("images/") + kSplitNames[split] + "/" + sampleName(i) + ".jpg\n";
        writeFileAtomically(options.outDir / (std::string(kSplitNames[split]) + ".txt"), list);
    }
    result.dataFile = options.outDir / "dac.data";
    writeFileAtomically(result.dataFile, "# Synthetic DAC-like dataset written by tyq gen-data (seed " +
                                             std::to_string(options.seed) +
                                             "). Paths are relative to this file's folder.\n"
                                             "classes=12\ntrain=train.txt\nvalid=val.txt\nnames=dac.names\n");
    return result;
}

} // namespace tyq
