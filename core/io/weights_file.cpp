#include "io/weights_file.h"

#include "common/error.h"
#include "io/pickle_reader.h"

#include <algorithm>

namespace tyq {

bool hasStepSizes(const StateDict& state)
{
    return std::any_of(state.begin(), state.end(),
                       [](const auto& entry) { return entry.first.find(".quan_") != std::string::npos; });
}

WeightsFile readWeightsFile(const std::filesystem::path& path)
{
    const std::string name = path.string();
    const std::shared_ptr<PickleValue> root = readTorchArchive(path);
    WeightsFile file;
    if (isTyqCheckpoint(*root)) {
        file.checkpoint = checkpointFromPickle(*root, name);
        file.state = file.checkpoint->model;
        file.description = "tyq checkpoint (" + file.checkpoint->phase + ", epoch " +
                           std::to_string(file.checkpoint->epoch) + ")";
        return file;
    }
    std::optional<StateDict> state = stateDictFromPickle(*root);
    if (!state)
        throw Error(name + ": holds a " + root->kindName() + ", not a state dict or tyq checkpoint");
    file.state = std::move(*state);
    file.description = "state dict";
    return file;
}

} // namespace tyq
