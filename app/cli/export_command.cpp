// tyq export: models out of tyq. `pth` is the path back to Python (torch.load + load_state_dict);
// `int` is the integer network for hardware (a folder: manifest, codes, requantization tables).
#include "cli/commands.h"

#include "common/error.h"
#include "hw/integer_model.h"
#include "hw/integer_model_files.h"
#include "hw/integer_model_sizes.h"
#include "io/state_dict.h"
#include "model/model_loader.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

namespace tyq::cli {
namespace {

struct ExportOptions {
    ModelFlags model;
    std::string format = "pth";
    std::string out;
};

void run(const ExportOptions& o, const GlobalOptions& global)
{
    applyGlobalOptions(global);
    LoadedModel loaded = loadModel(o.model.source());
    for (const std::string& w : loaded.warnings)
        spdlog::warn("{}", w);
    if (o.format == "pth") {
        const StateDict state = collectStateDict(*loaded.network);
        writeStateDictPth(state, o.out);
        spdlog::info("wrote {} tensors to {} (load in Python with model.load_state_dict(torch.load(path)))",
                     state.size(), o.out);
        return;
    }
    if (o.format == "int") {
        const IntegerModel model = exportIntegerModel(*loaded.network, o.model.weights);
        writeIntegerModel(model, o.out);
        std::cout << formatSizeReport(integerModelSizes(model));
        spdlog::info("wrote the integer model to {} (manifest.json, layer_*.npy, weights.packed; see README, "
                     "\"Hardware export\")",
                     o.out);
        return;
    }
    throw Error("unknown export format '" + o.format + "'");
}

} // namespace

void registerExportCommand(CLI::App& app, const GlobalOptions& global)
{
    auto o = std::make_shared<ExportOptions>();
    CLI::App* cmd = app.add_subcommand(
        "export", "Export a model (pth: a state dict for Python's torch.load; int: the integer network for hardware)");
    addModelFlags(*cmd, o->model, /*weightsRequired=*/true);
    cmd->add_option("--format", o->format, "Export format")->check(CLI::IsMember({"pth", "int"}))->capture_default_str();
    cmd->add_option("--out,-o", o->out, "Output file (pth) or folder (int)")->required();
    cmd->callback([o, &global] { run(*o, global); });
}

} // namespace tyq::cli
