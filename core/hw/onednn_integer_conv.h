// The integer engine's convolutions on oneDNN: u8 (or s8) activation codes x s8 weight codes ->
// s32 accumulators, channels-last, with VNNI where the CPU has it. The sums are exact, so the
// accumulators equal the reference loops' (integerConvolution) bit for bit. Codes wider than 8
// bits (the 9-bit input of the default config's last conv) are split exactly, x = 256 hi + lo,
// into two convolutions. Without VNNI, oneDNN sums pairs of u8 x s8 products in saturating 16-bit
// arithmetic first, and halves the weights of s8 inputs (inexact), so there s8 codes go in as u8
// (x + 128) and the accumulators are corrected exactly; a layer whose pair sums could exceed 16
// bits runs the reference loops there instead.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <utility>

namespace tyq {

/// The CPU's int8 instruction set as oneDNN can use it ("AVX-512 with VNNI", ...).
std::string oneDnnIsaName();
/// Whether oneDNN's int8 convolutions sum every u8 and s8 input exactly here (with VNNI); found
/// by running them once. Where not, a layer runs on oneDNN only where its sums are exact there.
bool oneDnnSumsExactly();
/// Whether they sum u8 codes up to `inputMax` times s8 codes up to |`weightMax`| exactly here:
/// with VNNI always, without it where two such products fit oneDNN's 16-bit pair sums.
bool oneDnnSumsUnsignedExactly(int64_t inputMax, int64_t weightMax);

struct OneDnnConvPrimitive;

/// The dtype oneDNN takes codes in [qmin, qmax] as: uint8, int8, int16 (split in two
/// convolutions), or int32 where they are wider than 16 bits (no oneDNN form).
at::ScalarType oneDnnCodeType(int qmin, int qmax);

class OneDnnIntegerConv {
public:
    /// `weightCodes` [O, I, k, k] (any integer dtype, each within int8); `inputQmin..inputQmax`
    /// the range of the input codes (for the split and the saturation check).
    OneDnnIntegerConv(const at::Tensor& weightCodes, int64_t stride, int64_t padding, int inputQmin, int inputQmax);
    ~OneDnnIntegerConv();

    /// Whether oneDNN computes this layer exactly on this CPU (else callers use the reference loops).
    bool usable() const { return usable_; }
    /// Why not, when not usable.
    const std::string& reason() const { return reason_; }

    /// int32 accumulators [N, O, OH, OW] of int32 input codes [N, I, H, W] (zero padding).
    at::Tensor run(const at::Tensor& inputCodes) const;

    /// The same for the engine's own form: codes [N, I, H, W] channels-last in the dtype of their
    /// range (uint8, int8, or int16 for the split), accumulators int32 channels-last.
    at::Tensor runChannelsLast(const at::Tensor& codes) const;

    /// The kernels oneDNN chose for the shapes run so far ("brgconv:avx512_core_amx_int8", ...).
    std::set<std::string> implementations() const;

    /// The dtype runChannelsLast wants for this layer's input range.
    at::ScalarType codeType() const;

private:
    std::shared_ptr<OneDnnConvPrimitive> primitive(int64_t n, int64_t h, int64_t w, bool signedInput) const;
    /// 128 conv(1) over an h x w input ([1, O, OH, OW], channels-last s32): what shifting s8
    /// codes to u8 adds to the accumulators.
    at::Tensor offsetOfShift(int64_t h, int64_t w) const;

    at::Tensor weight_; ///< int8 [O, I, k, k]
    int64_t stride_, padding_;
    int inputQmin_, inputQmax_;
    bool usable_ = true;
    bool shiftSigned_ = false; ///< s8 codes go into oneDNN as u8 (where its s8 sums are inexact)
    std::string reason_;
    mutable std::mutex mutex_;
    mutable std::map<std::tuple<int64_t, int64_t, int64_t, bool>, std::shared_ptr<OneDnnConvPrimitive>> cache_;
    mutable std::map<std::pair<int64_t, int64_t>, at::Tensor> shiftOffsets_;
};

} // namespace tyq
