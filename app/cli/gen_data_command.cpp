// tyq gen-data: the synthetic DAC-like dataset, so everything works without the contest data.
#include "cli/commands.h"

#include "data/synthetic_dataset.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <unistd.h>

namespace tyq::cli {
namespace {

void run(const SyntheticDatasetOptions& o, const GlobalOptions& global)
{
    applyGlobalOptions(global);
    const bool tty = ::isatty(STDERR_FILENO) && !global.quiet;
    const SyntheticDatasetResult r = generateSyntheticDataset(o, [&](int done, int total) {
        if (tty && (done % 20 == 0 || done == total))
            std::fprintf(stderr, "\rgenerating images: %d/%d", done, total);
        return true;
    });
    if (tty)
        std::fprintf(stderr, "\n");
    spdlog::info("wrote {} train and {} val images; dataset file: {}", r.trainCount, r.valCount, r.dataFile.string());
}

} // namespace

void registerGenDataCommand(CLI::App& app, const GlobalOptions& global)
{
    auto o = std::make_shared<SyntheticDatasetOptions>();
    CLI::App* cmd = app.add_subcommand("gen-data", "Generate the synthetic DAC-like dataset (images, labels, VOC XML, lists)");
    cmd->add_option("--out,-o", o->outDir, "Output folder")->required();
    cmd->add_option("--train", o->trainCount, "Training images")->check(CLI::Range(1, 1000000))->capture_default_str();
    cmd->add_option("--val", o->valCount, "Validation images")->check(CLI::Range(1, 1000000))->capture_default_str();
    cmd->add_option("--seed", o->seed, "Random seed (same seed, same files)")->capture_default_str();
    cmd->add_option("--width", o->width, "Image width")->check(CLI::Range(64, 8192))->capture_default_str();
    cmd->add_option("--height", o->height, "Image height")->check(CLI::Range(64, 8192))->capture_default_str();
    cmd->callback([o, &global] { run(*o, global); });
}

} // namespace tyq::cli
