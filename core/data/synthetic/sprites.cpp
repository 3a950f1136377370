#include "data/synthetic/sprites.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace tyq::synthetic {
namespace {

// ---------------------------------------------------------------------------------------------
// Object sprites: premultiplied colour (drawn onto black) and alpha, drawn together so the
// alpha is exactly the object's coverage.

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

} // namespace

AspectRange aspectRange(int classId)
{
    return kAspect[classId];
}

Sprite drawObject(int classId, double width, double height, Rng& rng)
{
    Painter painter(width, height);
    kDraw[classId](painter, rng);
    return painter.sprite();
}

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

} // namespace tyq::synthetic
