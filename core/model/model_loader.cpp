#include "model/model_loader.h"

#include "common/error.h"
#include "io/weights_file.h"

namespace tyq {

void applyWeights(YoloNetworkImpl& network, const StateDict& state, const std::string& source, InvalidWeights policy,
                  std::vector<std::string>* warnings)
{
    applyStateDict(network, state, source, /*requireClean=*/true);
    checkWeights(network, source, policy, warnings);
}

LoadedModel loadModel(const ModelSource& source)
{
    LoadedModel loaded;
    std::optional<WeightsFile> file;
    const std::string weightsName = source.weights.string();
    if (!source.weights.empty()) {
        file = readWeightsFile(source.weights);
        loaded.weightsDescription = file->description;
    }
    const TrainingCheckpoint* checkpoint = file && file->checkpoint ? &*file->checkpoint : nullptr;

    NetworkSpec spec = !source.cfg.empty() ? loadDarknetCfg(source.cfg)
                       : checkpoint        ? parseDarknetCfgText(checkpoint->cfgText, weightsName + " (recorded cfg)")
                                           : defaultNetworkSpec();
    std::optional<QuantConfig> quant;
    if (!source.quant.empty())
        quant = loadQuantConfig(source.quant);
    else if (checkpoint && !checkpoint->quantYaml.empty())
        quant = parseQuantConfigYaml(checkpoint->quantYaml, weightsName + " (recorded bit-widths)");

    loaded.network = YoloNetwork(std::move(spec));
    if (quant)
        loaded.warnings = loaded.network->quantize(*quant);

    if (file) {
        const bool fileQuantized = file->quantized();
        if (quant && !fileQuantized)
            throw Error(weightsName +
                        ": is a full-precision model (it has no LSQ step sizes); drop --quant to run it in full "
                        "precision, or train LSQ from it (tyq train --quant YAML --from " + weightsName + ")");
        if (!quant && fileQuantized)
            throw Error(weightsName + ": is an LSQ-quantized model; give its bit-width YAML with --quant",
                        ErrorKind::needsBitWidths);
        applyWeights(*loaded.network, file->state, weightsName, source.invalidWeights, &loaded.warnings);
    }
    loaded.network->eval();
    return loaded;
}

} // namespace tyq
