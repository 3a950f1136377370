// tyq export: models out of tyq. `pth` is the path back to Python (torch.load + load_state_dict).
#include "cli/commands.h"

#include "common/error.h"
#include "io/state_dict.h"
#include "model/model_loader.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

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
    LoadedModel loaded = loadModel({o.model.cfg, o.model.quant, o.model.weights});
    for (const std::string& w : loaded.warnings)
        spdlog::warn("{}", w);
    if (o.format == "pth") {
        const StateDict state = collectStateDict(*loaded.network);
        writeStateDictPth(state, o.out);
        spdlog::info("wrote {} tensors to {} (load in Python with model.load_state_dict(torch.load(path)))",
                     state.size(), o.out);
        return;
    }
    throw Error("unknown export format '" + o.format + "'");
}

} // namespace

void registerExportCommand(CLI::App& app, const GlobalOptions& global)
{
    auto o = std::make_shared<ExportOptions>();
    CLI::App* cmd = app.add_subcommand("export", "Export a model (pth: a state dict for Python's torch.load)");
    addModelFlags(*cmd, o->model, /*weightsRequired=*/true);
    cmd->add_option("--format", o->format, "Export format")->check(CLI::IsMember({"pth"}))->capture_default_str();
    cmd->add_option("--out,-o", o->out, "Output file")->required();
    cmd->callback([o, &global] { run(*o, global); });
}

} // namespace tyq::cli
