// What an integer model takes to store: per conv, fp32 weights against the packed codes and the
// requantization tables, and the totals (the size table of `tyq export --format int`).
#pragma once

#include "hw/integer_model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tyq {

/// Storage of one conv's weights in fp32 and at the true bit-width.
struct LayerSize {
    int index = 0;
    int64_t weights = 0;
    int bits = 0;
    int64_t fp32Bytes = 0;   ///< weights x 4
    int64_t packedBytes = 0; ///< ceil(weights x bits / 8)
    int paddingBits = 0;     ///< zero bits ending the layer's section of the packed file
    int64_t requantBytes = 0; ///< int32 multiplier, bias, shift per channel per consumer (+ float scale, bias)
};

struct SizeReport {
    std::vector<LayerSize> layers;
    int64_t fp32WeightBytes = 0;   ///< conv weights in fp32
    int64_t packedWeightBytes = 0; ///< the packed file
    int64_t fp32ModelBytes = 0;    ///< every parameter of the fp32 model (weights, biases, BN)
    int64_t requantBytes = 0;      ///< all requantization tables
    int64_t integerModelBytes() const { return packedWeightBytes + requantBytes; }
};

SizeReport integerModelSizes(const IntegerModel& model);
/// A terminal table: per conv, weights fp32 vs packed, then the totals.
std::string formatSizeReport(const SizeReport& report);

} // namespace tyq
