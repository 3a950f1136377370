// From one conv's int32 accumulators to the next quantizer's codes with integers only: the
// folded scale M_c = A_c / s_next and offset C_c = B_c / s_next of each output channel become
// an int32 multiplier and an int32 bias at a per-channel right shift,
//   q = clamp((acc * multiplier + bias + 2^(shift-1)) >> shift, qmin, qmax),
// with a 64-bit product and an arithmetic (flooring) shift: round half up, then clamp.
#pragma once

#include <cstdint>
#include <vector>

namespace tyq {

/// The requantization of one conv's output for one consumer quantizer (one graph edge).
struct Requantization {
    int consumer = -1; ///< layer index of the conv whose input quantizer gives the codes
    double step = 0;   ///< that quantizer's step s_next (the codes' value unit)
    int bits = 0;
    int qmin = 0, qmax = 0; ///< clamp range of the codes (a ReLU before it raises qmin to 0)
    std::vector<double> realMultiplier; ///< M_c, exact (double); for diagnostics only
    std::vector<double> realBias;       ///< C_c, exact (double); for diagnostics only
    std::vector<int32_t> multiplier;    ///< m_c = round(M_c 2^shift_c)
    std::vector<int32_t> bias;          ///< c_c = round(C_c 2^shift_c)
    std::vector<int32_t> shift;         ///< shift_c, 1..62

    int64_t channels() const { return static_cast<int64_t>(multiplier.size()); }
};

/// Encodes q = clamp(round(A_c acc + B_c) / step) per channel. shift_c is the largest (<= 62) for
/// which both m_c and c_c fit int32. `accumulatorBound` is max |acc| (per channel or one value):
/// an offset so large that it saturates every reachable output is first clipped to
/// |M_c| bound + (qmax - qmin) + 2, which changes no output. Throws tyq::Error if a channel cannot
/// be encoded (|M_c| >= 2^30).
Requantization makeRequantization(const std::vector<double>& scale, const std::vector<double>& offset, double step,
                                  int bits, int qmin, int qmax, const std::vector<int64_t>& accumulatorBound);

/// floor(v / 2^shift) for any sign (an arithmetic right shift).
inline int64_t shiftRightFloor(int64_t v, int shift)
{
    return v >= 0 ? v >> shift : -((-v - 1) >> shift) - 1;
}

/// The documented integer requantization of one accumulator. `tie` is set when the value was
/// exactly halfway between two codes (rounded up).
inline int32_t requantize(int32_t acc, int32_t multiplier, int32_t bias, int32_t shift, int32_t qmin, int32_t qmax,
                          bool* tie = nullptr)
{
    const int64_t scaled = static_cast<int64_t>(acc) * multiplier + bias;
    const int64_t half = int64_t(1) << (shift - 1);
    if (tie)
        *tie = (scaled & ((half << 1) - 1)) == half;
    const int64_t q = shiftRightFloor(scaled + half, shift);
    return static_cast<int32_t>(q < qmin ? qmin : q > qmax ? qmax : q);
}

} // namespace tyq
