#include "hw/requantization.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace tyq {
namespace {

constexpr double kInt32Limit = 2147483647.0; // 2^31 - 1
constexpr int kMaxShift = 62;

} // namespace

Requantization makeRequantization(const std::vector<double>& scale, const std::vector<double>& offset, double step,
                                  int bits, int qmin, int qmax, const std::vector<int64_t>& accumulatorBound)
{
    if (scale.size() != offset.size() || (accumulatorBound.size() != 1 && accumulatorBound.size() != scale.size()))
        throw Error("requantization: per-channel sizes differ");
    if (!(step > 0) || !std::isfinite(step))
        throw Error("requantization: step size " + std::to_string(step) + " is not positive");
    Requantization r;
    r.step = step;
    r.bits = bits;
    r.qmin = qmin;
    r.qmax = qmax;
    const size_t channels = scale.size();
    for (size_t c = 0; c < channels; ++c) {
        const double m = scale[c] / step;
        double b = offset[c] / step;
        if (!std::isfinite(m) || !std::isfinite(b))
            throw Error("requantization: channel " + std::to_string(c) + " has a non-finite scale or offset");
        const double bound = static_cast<double>(accumulatorBound.size() == 1 ? accumulatorBound[0] : accumulatorBound[c]);
        // Beyond this the output is qmin (or qmax) for every reachable accumulator anyway.
        const double saturating = std::abs(m) * bound + (qmax - qmin) + 2;
        b = std::clamp(b, -saturating, saturating);
        int shift = kMaxShift;
        while (shift > 1 && (std::abs(m) * std::ldexp(1.0, shift) > kInt32Limit - 1 ||
                             std::abs(b) * std::ldexp(1.0, shift) > kInt32Limit - 1))
            --shift;
        if (std::abs(m) * std::ldexp(1.0, shift) > kInt32Limit - 1 || std::abs(b) * std::ldexp(1.0, shift) > kInt32Limit - 1)
            throw Error("requantization: channel " + std::to_string(c) + " (multiplier " + std::to_string(m) +
                        ", offset " + std::to_string(b) + ") does not fit int32 fixed point");
        r.realMultiplier.push_back(m);
        r.realBias.push_back(offset[c] / step);
        r.multiplier.push_back(static_cast<int32_t>(std::llround(std::ldexp(m, shift))));
        r.bias.push_back(static_cast<int32_t>(std::llround(std::ldexp(b, shift))));
        r.shift.push_back(shift);
    }
    return r;
}

} // namespace tyq
