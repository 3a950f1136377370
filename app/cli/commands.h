// The subcommands of `tyq`. Each file registers one subcommand: its flags (CLI11 validates
// them: unknown flags and bad values are errors) and a callback that runs the engine.
#pragma once

#include "hw/integer_engine.h"
#include "model/model_loader.h"

#include <CLI/App.hpp>

#include <filesystem>
#include <string>

namespace tyq::cli {

struct GlobalOptions {
    int threads = 0; ///< 0 = every core
    bool quiet = false;
};

std::string versionString();
void addGlobalOptions(CLI::App& app, GlobalOptions& global);
/// Applies the global options (threads, log level); called by each command before it runs.
void applyGlobalOptions(const GlobalOptions& global);
/// Exit status a command asked for (0 unless set).
int exitCode();
void setExitCode(int code);

void registerAllCommands(CLI::App& app, const GlobalOptions& global);

void registerInfoCommand(CLI::App& app, const GlobalOptions& global);
void registerDetectCommand(CLI::App& app, const GlobalOptions& global);
void registerExportCommand(CLI::App& app, const GlobalOptions& global);
void registerGenDataCommand(CLI::App& app, const GlobalOptions& global);
void registerTrainCommand(CLI::App& app, const GlobalOptions& global);
void registerEvalCommand(CLI::App& app, const GlobalOptions& global);
void registerBenchCommand(CLI::App& app, const GlobalOptions& global);
/// ptq, sensitivity and search: choosing bit-widths over the post-training preview.
void registerBitWidthCommands(CLI::App& app, const GlobalOptions& global);

/// Flags naming a model, shared by detect, eval and export.
struct ModelFlags {
    std::string cfg;
    std::string quant;
    std::string weights;
    bool allowInvalidWeights = false;
    ModelSource source() const
    {
        return {cfg, quant, weights, allowInvalidWeights ? InvalidWeights::allow : InvalidWeights::refuse};
    }
};
void addModelFlags(CLI::App& command, ModelFlags& flags, bool weightsRequired);

/// Adds `--int-kernel onednn|reference` (the integer engine's convolutions) to `command`.
void addIntKernelFlag(CLI::App& command, std::string& kernel);
/// The kernel a `--int-kernel` value names.
IntegerConvKernel kernelOf(const std::string& name);

} // namespace tyq::cli
