#include "io/checkpoint.h"

#include "common/atomic_file.h"
#include "common/error.h"
#include "io/pickle_reader.h"

#include <ATen/ATen.h>
#include <algorithm>
#include <torch/csrc/jit/serialization/pickle.h>

namespace tyq {
namespace {

constexpr int64_t kFormatVersion = 1;
constexpr const char* kFormatKey = "tyq_checkpoint";

c10::Dict<std::string, at::Tensor> toDict(const StateDict& state)
{
    c10::Dict<std::string, at::Tensor> dict;
    for (const auto& [name, tensor] : state)
        dict.insert(name, tensor.detach().cpu().contiguous());
    return dict;
}

StateDict tensorsOf(const PickleValue& root, const char* key, const std::string& source, bool required)
{
    StateDict out;
    const PickleValue* node = root.get(key);
    if (!node) {
        if (required)
            throw Error(source + ": checkpoint has no '" + key + "'");
        return out;
    }
    if (node->kind != PickleValue::Kind::dict)
        throw Error(source + ": checkpoint entry '" + key + "' is a " + node->kindName() + ", expected a dict");
    for (const auto& [k, v] : node->entries) {
        if (!k->isString() || v->kind != PickleValue::Kind::tensor)
            throw Error(source + ": checkpoint entry '" + key + "' holds a non-tensor value");
        out.emplace_back(k->text, v->tensor);
    }
    return out;
}

std::string stringOf(const PickleValue& root, const char* key, const std::string& source)
{
    const PickleValue* node = root.get(key);
    if (!node || node->kind == PickleValue::Kind::none)
        return {};
    if (!node->isString())
        throw Error(source + ": checkpoint entry '" + key + "' is a " + node->kindName() + ", expected a string");
    return node->text;
}

int64_t intOf(const PickleValue& root, const char* key, const std::string& source)
{
    const PickleValue* node = root.get(key);
    if (!node || node->kind != PickleValue::Kind::integer)
        throw Error(source + ": checkpoint entry '" + key + "' is missing or not an integer");
    if (node->integer < 0)
        throw Error(source + ": checkpoint entry '" + key + "' is negative");
    return node->integer;
}

} // namespace

void saveCheckpoint(const TrainingCheckpoint& c, const std::filesystem::path& path)
{
    c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
    dict.insert(kFormatKey, kFormatVersion);
    dict.insert("tyq_version", c.tyqVersion);
    dict.insert("phase", c.phase);
    dict.insert("model", toDict(c.model));
    dict.insert("optimizer", toDict(c.optimizer));
    dict.insert("pending_gradients", toDict(c.pendingGradients));
    dict.insert("epoch", c.epoch);
    dict.insert("batch_in_epoch", c.batchInEpoch);
    dict.insert("global_batch", c.globalBatch);
    dict.insert("world_size", c.worldSize);
    dict.insert("cfg", c.cfgText);
    dict.insert("quant", c.quantYaml);
    dict.insert("options", c.optionsYaml);
    dict.insert("metrics", c.metricsJson);
    dict.insert("rng_state", c.rngState.defined() ? c.rngState.cpu().contiguous() : at::empty({0}, at::kByte));
    const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));
    writeFileAtomically(path, std::string_view(bytes.data(), bytes.size()));
}

bool isTyqCheckpoint(const PickleValue& root)
{
    const PickleValue* format = root.get(kFormatKey);
    return format && format->kind == PickleValue::Kind::integer;
}

TrainingCheckpoint checkpointFromPickle(const PickleValue& root, const std::string& source)
{
    if (!isTyqCheckpoint(root))
        throw Error(source + ": not a tyq checkpoint");
    if (root.get(kFormatKey)->integer > kFormatVersion)
        throw Error(source + ": written by a newer tyq (checkpoint format " +
                    std::to_string(root.get(kFormatKey)->integer) + ")");
    TrainingCheckpoint c;
    c.model = tensorsOf(root, "model", source, true);
    c.optimizer = tensorsOf(root, "optimizer", source, false);
    c.pendingGradients = tensorsOf(root, "pending_gradients", source, false);
    c.phase = stringOf(root, "phase", source);
    c.cfgText = stringOf(root, "cfg", source);
    c.quantYaml = stringOf(root, "quant", source);
    c.optionsYaml = stringOf(root, "options", source);
    c.metricsJson = stringOf(root, "metrics", source);
    c.tyqVersion = stringOf(root, "tyq_version", source);
    c.epoch = intOf(root, "epoch", source);
    c.batchInEpoch = intOf(root, "batch_in_epoch", source);
    c.globalBatch = intOf(root, "global_batch", source);
    if (const PickleValue* world = root.get("world_size"); world && world->kind == PickleValue::Kind::integer)
        c.worldSize = std::max<int64_t>(1, world->integer); // absent before data parallelism: 1
    if (const PickleValue* rng = root.get("rng_state"); rng && rng->kind == PickleValue::Kind::tensor)
        c.rngState = rng->tensor;
    if (c.phase != "fp" && c.phase != "lsq")
        throw Error(source + ": checkpoint phase '" + c.phase + "' is neither fp nor lsq");
    if (c.cfgText.empty())
        throw Error(source + ": checkpoint does not record its network cfg");
    return c;
}

TrainingCheckpoint loadCheckpoint(const std::filesystem::path& path)
{
    return checkpointFromPickle(*readTorchArchive(path), path.string());
}

} // namespace tyq
