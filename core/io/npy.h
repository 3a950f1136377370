// NumPy .npy files (format 1.0), the lingua franca for comparing tensors with Python tools and
// hardware simulators: float32/64, int8/16/32/64 and uint8, C order.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string_view>

namespace tyq {

/// Writes a CPU tensor (made contiguous) atomically. Throws tyq::Error for unsupported dtypes.
void writeNpy(const at::Tensor& tensor, const std::filesystem::path& path);

/// Reads a .npy file written in C order with a little-endian supported dtype.
at::Tensor readNpy(const std::filesystem::path& path);
/// The same on file bytes already in memory; `source` names them in errors.
at::Tensor parseNpy(std::string_view data, const std::filesystem::path& source);

} // namespace tyq
