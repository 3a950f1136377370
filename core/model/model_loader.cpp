#include "model/model_loader.h"

#include "common/error.h"
#include "io/checkpoint.h"
#include "io/pickle_reader.h"
#include "io/state_dict.h"

#include <algorithm>

namespace tyq {
namespace {

bool hasStepSizes(const StateDict& state)
{
    return std::any_of(state.begin(), state.end(),
                       [](const auto& entry) { return entry.first.find(".quan_") != std::string::npos; });
}

} // namespace

LoadedModel loadModel(const ModelSource& source)
{
    LoadedModel loaded;
    std::optional<StateDict> state;
    std::optional<TrainingCheckpoint> checkpoint;
    const std::string weightsName = source.weights.string();
    if (!source.weights.empty()) {
        const std::shared_ptr<PickleValue> root = readTorchArchive(source.weights);
        if (isTyqCheckpoint(*root)) {
            checkpoint = checkpointFromPickle(*root, weightsName);
            state = checkpoint->model;
            loaded.weightsDescription = "tyq checkpoint (" + checkpoint->phase + ", epoch " +
                                        std::to_string(checkpoint->epoch) + ")";
        } else {
            state = stateDictFromPickle(*root);
            if (!state)
                throw Error(weightsName + ": holds a " + root->kindName() + ", not a state dict or tyq checkpoint");
            loaded.weightsDescription = "state dict";
        }
    }

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

    if (state) {
        const bool fileQuantized = hasStepSizes(*state);
        if (quant && !fileQuantized)
            throw Error(weightsName +
                        ": is a full-precision model (it has no LSQ step sizes); drop --quant to run it in full "
                        "precision, or train LSQ from it (tyq train --quant YAML --from " + weightsName + ")");
        if (!quant && fileQuantized)
            throw Error(weightsName + ": is an LSQ-quantized model; give its bit-width YAML with --quant");
        applyStateDict(*loaded.network, *state, weightsName, /*requireClean=*/true);
        checkWeights(*loaded.network, weightsName, source.invalidWeights, &loaded.warnings);
    }
    loaded.network->eval();
    return loaded;
}

} // namespace tyq
