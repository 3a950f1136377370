// The synthetic dataset's randomness: one stream per image from (seed, split, index), so images
// can be drawn in any order and the same seed gives the same bytes with any standard library;
// and the class ids the painters and scenes switch on.
#pragma once

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace tyq::synthetic {

constexpr int kNumClasses = 12;
constexpr double kPi = 3.14159265358979323846;

enum ClassId { Boat, Building, Car, Drone, Group, Horseride, Paraglider, Person, Riding, Truck, Wakeboard, Whale };

inline uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// Each image's stream depends only on (seed, split, index), so images can be drawn in any order.
inline uint64_t streamSeed(uint64_t seed, int split, uint64_t index)
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

inline cv::Scalar jitter(const cv::Scalar& c, Rng& rng, double amount)
{
    const double brightness = rng.normal() * amount * 0.6;
    cv::Scalar out;
    for (int k = 0; k < 3; ++k)
        out[k] = std::clamp(c[k] + brightness + rng.normal() * amount * 0.5, 0.0, 255.0);
    return out;
}

inline cv::Scalar bgr(int r, int g, int b) { return cv::Scalar(b, g, r); }

} // namespace tyq::synthetic
