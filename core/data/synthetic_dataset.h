// A procedurally drawn DAC-like dataset, so tyq runs out of the box without the contest's
// images: one object per image from 12 visually distinct classes, on varied textured
// backgrounds, written in the reference layout (images/, labels/, lists, names, .data) with a
// Pascal-VOC XML beside each label. Deterministic for a seed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

namespace tyq {

struct SyntheticDatasetOptions {
    std::filesystem::path outDir;  ///< created if missing
    int trainCount = 2000;
    int valCount = 400;
    uint64_t seed = 1;
    int width = 640;               ///< the contest's image size
    int height = 360;
    double minAreaFraction = 0.01; ///< object box area / image area
    double maxAreaFraction = 0.15;
    int jpegQuality = 92;
};

struct SyntheticDatasetResult {
    std::filesystem::path dataFile; ///< outDir/dac.data
    int trainCount = 0;
    int valCount = 0;
};

/// Writes the dataset. `progress(done, total)` is called after each image, always on the calling
/// thread (two worker threads draw the images); returning false cancels within about one image
/// per worker: files written so far stay, the lists and .data file are not written, and the
/// result's dataFile is empty (its counts say how many images were finished). Throws tyq::Error
/// on bad options or I/O failure naming the file.
SyntheticDatasetResult generateSyntheticDataset(const SyntheticDatasetOptions& options,
                                                const std::function<bool(int, int)>& progress = {});

} // namespace tyq
