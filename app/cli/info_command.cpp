// tyq info: the network's layers, shapes, parameters, MACs and bits, with totals.
#include "cli/commands.h"

#include "model/darknet_cfg.h"
#include "model/network_summary.h"
#include "quant/quant_config.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

namespace tyq::cli {
namespace {

struct InfoOptions {
    std::string cfg;
    std::string quant;
    bool fp = false;
    int width = 0;
    int height = 0;
    bool json = false;
};

nlohmann::json toJson(const NetworkSummary& s)
{
    nlohmann::json layers = nlohmann::json::array();
    for (const LayerSummary& l : s.layers) {
        nlohmann::json j = {{"index", l.index}, {"type", l.type}, {"detail", l.detail},
                            {"input", {l.input.channels, l.input.height, l.input.width}},
                            {"output", {l.output.channels, l.output.height, l.output.width}}};
        if (!l.moduleName.empty()) {
            j["module"] = l.moduleName;
            j["parameters"] = l.parameters;
            j["macs"] = l.macs;
            j["weight_bits"] = l.weightBits;
            j["activation_bits"] = l.activationBits;
            j["size_bits"] = l.sizeBits;
            j["bit_ops"] = l.bitOps;
        }
        layers.push_back(j);
    }
    return {{"input", {s.inputWidth, s.inputHeight}}, {"layers", layers}, {"parameters", s.parameters},
            {"macs", s.macs}, {"size_bits_fp32", s.sizeBitsFp32}, {"size_bits_quantized", s.sizeBitsQuantized},
            {"compression", s.compression()}, {"bit_ops", s.bitOps}, {"bit_ops_fp32", s.bitOpsFp32},
            {"image_bits", s.imageBits}};
}

void run(const InfoOptions& o, const GlobalOptions& global)
{
    applyGlobalOptions(global);
    const NetworkSpec spec = o.cfg.empty() ? defaultNetworkSpec() : loadDarknetCfg(o.cfg);
    std::optional<QuantConfig> quant;
    if (!o.fp)
        quant = o.quant.empty() ? defaultQuantConfig() : loadQuantConfig(o.quant);
    if (quant) {
        std::vector<std::string> names;
        for (int i : spec.convIndices())
            names.push_back(convModuleName(i));
        for (const std::string& w : checkQuantConfigAgainst(*quant, names, o.quant.empty() ? "<built-in lsq-3bit.yaml>" : o.quant))
            spdlog::warn("{}", w);
    }
    const NetworkSummary summary = summarizeNetwork(spec, quant ? &*quant : nullptr, o.width, o.height);
    if (o.json) {
        std::cout << toJson(summary).dump(2) << "\n";
        return;
    }
    std::cout << "network: " << spec.source << "\n";
    std::cout << "bit-widths: " << (o.fp ? "none (full precision)" : o.quant.empty() ? "<built-in lsq-3bit.yaml>" : o.quant)
              << "\n\n";
    std::cout << formatNetworkSummary(summary);
}

} // namespace

void registerInfoCommand(CLI::App& app, const GlobalOptions& global)
{
    auto options = std::make_shared<InfoOptions>();
    CLI::App* cmd = app.add_subcommand("info", "Show the network's layers, costs and model size at its bit-widths");
    cmd->add_option("--cfg", options->cfg, "Network cfg (default: the built-in tiny-yolo-dac.cfg)")->check(CLI::ExistingFile);
    cmd->add_option("--quant", options->quant, "Bit-width YAML (default: the built-in lsq-3bit.yaml)")->check(CLI::ExistingFile);
    cmd->add_flag("--fp", options->fp, "Full precision: no bit-width config")->excludes("--quant");
    cmd->add_option("--width", options->width, "Input width (default: the cfg's)")->check(CLI::Range(32, 8192));
    cmd->add_option("--height", options->height, "Input height (default: the cfg's)")->check(CLI::Range(32, 8192));
    cmd->add_flag("--json", options->json, "Print JSON instead of a table");
    cmd->callback([options, &global] { run(*options, global); });
}

} // namespace tyq::cli
