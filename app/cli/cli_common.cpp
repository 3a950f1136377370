#include "cli/commands.h"

#include "common/compute_threads.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

namespace tyq::cli {
namespace {
int g_exitCode = 0;
}

std::string versionString()
{
    return "tyq 0.1.0";
}

void addGlobalOptions(CLI::App& app, GlobalOptions& global)
{
    app.add_option("--threads", global.threads, "Compute threads (0 = every core)")
        ->check(CLI::Range(0, 1024))
        ->capture_default_str();
    app.add_flag("-q,--quiet", global.quiet, "Only warnings and errors");
}

void applyGlobalOptions(const GlobalOptions& global)
{
    configureComputeThreads(global.threads);
    spdlog::set_pattern("%^%l%$: %v");
    spdlog::set_level(global.quiet ? spdlog::level::warn : spdlog::level::info);
}

int exitCode()
{
    return g_exitCode;
}

void setExitCode(int code)
{
    g_exitCode = code;
}

void addModelFlags(CLI::App& command, ModelFlags& flags, bool weightsRequired)
{
    command.add_option("--cfg", flags.cfg, "Network cfg (default: the checkpoint's, else the built-in tiny-yolo-dac.cfg)")
        ->check(CLI::ExistingFile);
    command.add_option("--quant", flags.quant, "Bit-width YAML (default: the checkpoint's; none = full precision)")
        ->check(CLI::ExistingFile);
    auto* weights = command.add_option("--weights,-w", flags.weights,
                                       "Weights: a reference .pth, a tyq export or a tyq checkpoint")
                        ->check(CLI::ExistingFile);
    if (weightsRequired)
        weights->required();
    command.add_flag("--allow-invalid-weights", flags.allowInvalidWeights,
                     "Load weights with NaN/Inf, negative variances or step sizes <= 0 anyway, with a warning "
                     "per tensor (to look at a diverged checkpoint; its outputs are not meaningful)");
}

void registerAllCommands(CLI::App& app, const GlobalOptions& global)
{
    registerGenDataCommand(app, global);
    registerTrainCommand(app, global);
    registerEvalCommand(app, global);
    registerDetectCommand(app, global);
    registerExportCommand(app, global);
    registerInfoCommand(app, global);
    registerBenchCommand(app, global);
    registerBitWidthCommands(app, global);
}

void addIntKernelFlag(CLI::App& command, std::string& kernel)
{
    command
        .add_option("--int-kernel", kernel,
                    "Integer engine convolutions: onednn (int8 kernels) or reference (int32 loops); identical results")
        ->check(CLI::IsMember({"onednn", "reference"}))
        ->capture_default_str();
}

IntegerConvKernel kernelOf(const std::string& name)
{
    return name == "reference" ? IntegerConvKernel::reference : IntegerConvKernel::onednn;
}

} // namespace tyq::cli
