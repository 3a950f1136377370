#include "io/state_dict.h"

#include "common/atomic_file.h"
#include "common/error.h"
#include "io/pickle_reader.h"
#include "io/zip_reader.h"

#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/nn/module.h>

#include <map>

namespace tyq {
namespace {

// The archive's folder prefix ("archive/" for torch.save, the file stem for older writers).
std::string archivePrefix(const ZipArchive& zip)
{
    for (const std::string& name : zip.names()) {
        const size_t slash = name.find('/');
        if (slash != std::string::npos && name.compare(slash + 1, std::string::npos, "data.pkl") == 0)
            return name.substr(0, slash + 1);
    }
    throw Error(zip.source() + ": not a PyTorch archive (no data.pkl inside)");
}

const PickleValue* stateDictNode(const PickleValue& root)
{
    auto isTensorDict = [](const PickleValue& v) {
        if (v.kind != PickleValue::Kind::dict)
            return false;
        for (const auto& [k, t] : v.entries)
            if (!k->isString() || t->kind != PickleValue::Kind::tensor)
                return false;
        return true;
    };
    if (isTensorDict(root))
        return &root;
    for (const char* key : {"model", "state_dict", "model_state_dict"})
        if (const PickleValue* nested = root.get(key); nested && isTensorDict(*nested))
            return nested;
    return nullptr;
}

void collect(const torch::nn::Module& module, const std::string& prefix, StateDict& out)
{
    for (const auto& item : module.named_parameters(/*recurse=*/false))
        out.emplace_back(prefix + item.key(), item.value());
    for (const auto& item : module.named_buffers(/*recurse=*/false))
        out.emplace_back(prefix + item.key(), item.value());
    for (const auto& child : module.named_children())
        collect(*child.value(), prefix + child.key() + ".", out);
}

} // namespace

std::shared_ptr<PickleValue> readTorchArchive(const std::filesystem::path& path)
{
    return readTorchArchive(ZipArchive(path));
}

std::shared_ptr<PickleValue> readTorchArchive(const ZipArchive& zip)
{
    const std::string prefix = archivePrefix(zip);
    const std::string& source = zip.source();
    auto loadStorage = [&](const StorageRef& ref) {
        const std::string record = prefix + "data/" + ref.key;
        if (!zip.contains(record))
            throw Error(source + ": storage '" + ref.key + "' is missing from the archive");
        const std::string_view bytes = zip.read(record);
        const at::ScalarType dtype = storageScalarType(ref.typeName);
        const uint64_t elementSize = c10::elementSize(dtype);
        if (static_cast<uint64_t>(ref.numel) > bytes.size() / elementSize)
            throw Error(source + ": storage '" + ref.key + "' claims " + std::to_string(ref.numel) +
                        " elements but holds " + std::to_string(bytes.size()) + " bytes");
        at::Tensor storage = at::empty({ref.numel}, at::TensorOptions().dtype(dtype));
        if (ref.numel > 0)
            std::memcpy(storage.data_ptr(), bytes.data(), static_cast<size_t>(ref.numel) * elementSize);
        return storage;
    };
    return readPickle(zip.read(prefix + "data.pkl"), loadStorage, source);
}

std::optional<StateDict> stateDictFromPickle(const PickleValue& root)
{
    const PickleValue* node = stateDictNode(root);
    if (!node)
        return std::nullopt;
    StateDict state;
    for (const auto& [k, v] : node->entries)
        state.emplace_back(k->text, v->tensor);
    return state;
}

StateDict readStateDict(const std::filesystem::path& path)
{
    const std::shared_ptr<PickleValue> root = readTorchArchive(path);
    std::optional<StateDict> state = stateDictFromPickle(*root);
    if (!state)
        throw Error(path.string() + ": holds a " + root->kindName() +
                    ", not a state dict (a dict of name -> tensor, possibly under 'model' or 'state_dict')");
    return *state;
}

StateDict collectStateDict(const torch::nn::Module& module)
{
    StateDict out;
    collect(module, "", out);
    return out;
}

std::string StateDictReport::describe() const
{
    std::string out;
    for (const std::string& m : missing)
        out += "  missing from the file: " + m + "\n";
    for (const std::string& u : unexpected)
        out += "  not in the model: " + u + "\n";
    for (const std::string& m : mismatched)
        out += "  shape mismatch: " + m + "\n";
    return out;
}

StateDictReport applyStateDict(torch::nn::Module& module, const StateDict& state, const std::string& source,
                               bool requireClean)
{
    const StateDict target = collectStateDict(module);
    std::map<std::string, at::Tensor> fromFile(state.begin(), state.end());
    StateDictReport report;
    std::vector<std::pair<at::Tensor, at::Tensor>> copies;
    for (const auto& [name, dst] : target) {
        auto it = fromFile.find(name);
        if (it == fromFile.end()) {
            report.missing.push_back(name);
            continue;
        }
        const at::Tensor& src = it->second;
        if (src.sizes() != dst.sizes()) {
            // The reference stores scalar step sizes as [] and [1]; both mean one value.
            if (!(src.numel() == 1 && dst.numel() == 1))
                report.mismatched.push_back(name + ": file " + c10::str(src.sizes()) + " vs model " + c10::str(dst.sizes()));
            else
                copies.emplace_back(dst, src.reshape(dst.sizes()));
        } else {
            copies.emplace_back(dst, src);
        }
        fromFile.erase(it);
    }
    for (const auto& [name, src] : state)
        if (fromFile.count(name))
            report.unexpected.push_back(name);
    if (requireClean && !report.clean())
        throw Error(source + ": does not match the network:\n" + report.describe());
    torch::NoGradGuard noGrad;
    for (auto& [dst, src] : copies)
        dst.copy_(src.to(dst.dtype()));
    return report;
}

void writeStateDictPth(const StateDict& state, const std::filesystem::path& path)
{
    c10::Dict<std::string, at::Tensor> dict;
    for (const auto& [name, tensor] : state)
        dict.insert(name, tensor.detach().cpu().contiguous());
    const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));
    writeFileAtomically(path, std::string_view(bytes.data(), bytes.size()));
}

} // namespace tyq
