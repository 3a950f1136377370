// tyq's performance measurements (`tyq bench`): inference, training steps, the data pipeline and
// the evaluation of a dataset, each on the fast path and on the straightforward baseline (one
// thread, NCHW, op by op, reference quantizer, plain allocator) in the same process, alternating
// so that both see the same machine load (and so do the bf16 rows with their fp32 ones); plus a
// memory check (RSS over many training batches).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace tyq {

struct BenchmarkOptions {
    int width = 512;
    int height = 288;
    double seconds = 2.0; ///< minimum timed seconds per measurement and round
    int iterations = 0;   ///< > 0: exactly this many timed iterations instead of `seconds`
    int rounds = 2;       ///< fast and baseline alternate this many times; each keeps its best
    bool baseline = true; ///< also measure the baseline (the slow part of the run)
    int threads = 0;      ///< fast-path compute threads (0 = every core)
    int memoryBatches = 48;  ///< training batches of the memory check (0: skip it)
    int datasetImages = 48;  ///< synthetic images per split, for the data pipeline and evaluation
    int loaderThreads = 2;   ///< the data pipeline's worker threads (the trainer's default)
    std::filesystem::path scratchDir;  ///< where the synthetic dataset goes (empty: a temporary folder)
    std::filesystem::path fpWeights;   ///< optional weights; default seeded random ones
    std::filesystem::path lsqWeights;  ///< optional LSQ weights; default: the fp net quantized to 3 bits

    /// A run for CI: small input, fractions of a second per measurement.
    static BenchmarkOptions quick();
};

struct BenchmarkRow {
    std::string key;         ///< fp_infer_b8, lsq_train_b8, data_pipeline, ...
    std::string what;        ///< what was measured, in words
    double imagesPerSecond = 0;
    double baselineImagesPerSecond = 0; ///< 0 when not measured
    double target = 0;       ///< images/s the project aims for at 512x288 (0: none)
    double peakRssMb = 0;    ///< RSS high-water mark during the fast measurement
};

struct MemoryCheck {
    int batches = 0;
    double firstQuarterMb = 0; ///< mean RSS over the first quarter of the batches
    double lastQuarterMb = 0;  ///< and over the last quarter
    double peakMb = 0;         ///< RSS high-water mark during the check
    bool bounded = false;      ///< the last quarter is within 5% (or 32 MB) of the first
};

/// A figure of merit between two measurements of one run (int_infer_b8 over fp_infer_b8, ...).
struct BenchmarkRatio {
    std::string key;   ///< JSON key: int_over_fp_infer_b8, ...
    std::string what;  ///< in words: "integer / fp inference, batch 8"
    double value = 0;
    double target = 0; ///< the ratio the project aims for (0: none)
};

struct BenchmarkReport {
    std::string machine;    ///< CPU model and core count
    std::string libtorch;   ///< LibTorch version
    std::string kernelIsa;  ///< instruction set of the hand-written kernels
    std::string integerKernels; ///< the integer engine's convolutions as they ran (oneDNN's choices)
    int threads = 0;        ///< fast-path compute threads
    int ownKernelThreads = 0; ///< threads tyq's own kernels (at::parallel_for) run on: 1 without OpenMP
    int width = 0, height = 0;
    std::vector<BenchmarkRow> rows;
    MemoryCheck memory;
    double dataToTrainRatio = 0; ///< data pipeline images/s over fp training images/s
    std::vector<BenchmarkRatio> ratios; ///< the run's ratios with targets, data-to-train among them
};

/// Runs every measurement. `log` receives a line per step (may be empty). Throws tyq::Error on
/// bad options or when the synthetic dataset cannot be written.
BenchmarkReport runBenchmarks(const BenchmarkOptions& options, const std::function<void(const std::string&)>& log = {});

/// The report as a table (rows, baseline, speedup, target) with the machine and memory check.
std::string formatBenchmarkTable(const BenchmarkReport& report);

/// The report as JSON: per row `<key>` (images/s), `<key>_baseline`, `<key>_speedup`,
/// `<key>_target`, `<key>_peak_rss_mb`, plus machine, memory and data-to-train ratio.
std::string benchmarkJson(const BenchmarkReport& report);

/// Current and peak resident set size of this process in MB (from /proc/self/status).
double currentRssMb();
double peakRssMb();
/// Resets the peak RSS (VmHWM) to the current RSS, where the kernel allows it.
void resetPeakRss();

} // namespace tyq
