// The integer model's folder: manifest.json (graph, quantizers, steps, sizes), one .npy per
// table and the bit-packed weights, written for hardware engineers and read back with every
// file checked against the manifest and against the graph derived again (hw/integer_graph.h).
#pragma once

#include "hw/integer_model.h"

#include <filesystem>

namespace tyq {

/// Writes manifest.json, the .npy files and weights.packed into `dir` (created if missing;
/// files of an older export are replaced). The manifest is written last.
void writeIntegerModel(const IntegerModel& model, const std::filesystem::path& dir);

/// Reads an export folder back, checking every file against the manifest (shapes, dtypes, code
/// ranges, the packed file against the .npy codes). Throws tyq::Error naming the file and key.
IntegerModel readIntegerModel(const std::filesystem::path& dir);

/// True if `dir` holds a manifest.json of an integer export.
bool isIntegerModelDir(const std::filesystem::path& dir);

} // namespace tyq
