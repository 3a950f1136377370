// tyq bench: throughput of inference, training steps, the data pipeline and evaluation on the
// fast path against the straightforward baseline in the same process, and a memory check.
#include "cli/commands.h"

#include "common/atomic_file.h"
#include "perf/benchmark.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

namespace tyq::cli {
namespace {

struct BenchCommandOptions {
    BenchmarkOptions bench;
    bool quick = false;
    std::string json;
};

void run(const BenchCommandOptions& o, const GlobalOptions& global, const CLI::App& cmd)
{
    applyGlobalOptions(global);
    BenchmarkOptions options = o.bench;
    if (o.quick) {
        // --quick sets small defaults; explicit flags still win.
        const BenchmarkOptions quick = BenchmarkOptions::quick();
        auto given = [&](const char* flag) { return cmd.count(flag) > 0; };
        if (!given("--width")) options.width = quick.width;
        if (!given("--height")) options.height = quick.height;
        if (!given("--seconds")) options.seconds = quick.seconds;
        if (!given("--rounds")) options.rounds = quick.rounds;
        if (!given("--memory-batches")) options.memoryBatches = quick.memoryBatches;
        if (!given("--dataset-images")) options.datasetImages = quick.datasetImages;
    }
    options.threads = global.threads;
    const BenchmarkReport report = runBenchmarks(options, [&](const std::string& line) { spdlog::info("{}", line); });
    std::cout << formatBenchmarkTable(report);
    if (!o.json.empty())
        writeFileAtomically(o.json, benchmarkJson(report) + "\n");
}

} // namespace

void registerBenchCommand(CLI::App& app, const GlobalOptions& global)
{
    auto o = std::make_shared<BenchCommandOptions>();
    CLI::App* cmd = app.add_subcommand(
        "bench", "Measure inference, training, data pipeline and evaluation speed (fast path vs baseline) and memory");
    BenchmarkOptions& b = o->bench;
    cmd->add_option("--width", b.width, "Input width (a multiple of 32)")->check(CLI::Range(32, 8192))->capture_default_str();
    cmd->add_option("--height", b.height, "Input height (a multiple of 32)")->check(CLI::Range(32, 8192))->capture_default_str();
    auto* seconds = cmd->add_option("--seconds", b.seconds, "Timed seconds per measurement and round")
                        ->check(CLI::Range(0.0, 3600.0))
                        ->capture_default_str();
    cmd->add_option("--iterations", b.iterations, "Exactly this many timed iterations per measurement (instead of --seconds)")
        ->check(CLI::Range(1, 1000000))
        ->excludes(seconds);
    cmd->add_option("--rounds", b.rounds, "Fast and baseline alternate this many times; each keeps its best")
        ->check(CLI::Range(1, 100))
        ->capture_default_str();
    cmd->add_flag("!--no-baseline", b.baseline, "Skip the (slow) baseline measurements");
    cmd->add_option("--memory-batches", b.memoryBatches, "Training batches of the memory check (0: skip)")
        ->check(CLI::Range(0, 100000))
        ->capture_default_str();
    cmd->add_option("--dataset-images", b.datasetImages, "Synthetic images per split (data pipeline, evaluation)")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    cmd->add_option("--loader-threads", b.loaderThreads, "Data pipeline worker threads")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    cmd->add_option("--scratch", b.scratchDir, "Folder for the synthetic dataset (default: a temporary one, removed)");
    cmd->add_option("--weights", b.fpWeights, "Full-precision weights to time (default: seeded random weights)")
        ->check(CLI::ExistingFile);
    cmd->add_flag("--quick", o->quick, "Small and short, for CI (160x96, 0.05 s per measurement)");
    cmd->add_option("--json", o->json, "Also write the results as JSON to this file");
    cmd->callback([o, &global, cmd] { run(*o, global, *cmd); });
}

} // namespace tyq::cli
