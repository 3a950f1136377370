// The arithmetic a network's convolutions run in. fp32 is the default everywhere. bf16 is mixed
// precision as PyTorch's CPU autocast does it: the convolutions take bf16 inputs and weights and
// accumulate in f32 (oneDNN), their bf16 outputs flow through batch norm (f32 parameters and
// statistics, f32 arithmetic inside), activations and pooling, and the heads, the loss, LSQ
// quantizers, the optimizer and its master weights are f32. bf16 keeps f32's range with an
// 8-bit significand: each value is rounded to about 3 significant digits.
#pragma once

#include <string>

namespace tyq {

enum class Precision { fp32, bf16 };

const char* precisionName(Precision precision);
/// "fp32" or "bf16"; anything else throws tyq::Error naming the word and the choices.
Precision parsePrecision(const std::string& word);

/// Whether this CPU runs `precision` at all (oneDNN's bf16 convolutions need AVX-512 BW/VL/DQ);
/// when it does not, `why` says so in a sentence for the user.
bool precisionSupported(Precision precision, std::string* why = nullptr);
/// Whether bf16 arithmetic is native (AVX512_BF16: VDPBF16PS); without it oneDNN emulates
/// bf16 with f32 instructions, which computes the same values, usually slower than fp32.
bool nativeBf16();

/// Throws tyq::Error (naming `what`) when this CPU cannot run `precision`.
void requirePrecision(Precision precision, const std::string& what);

} // namespace tyq
