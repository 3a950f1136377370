// State dicts (parameter name -> tensor) in and out of tyq: read from PyTorch archives (the
// reference's .pth files, tyq's exports and checkpoints), applied to a module with a report of
// what did not fit, and written so that Python's torch.load + load_state_dict accept them.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace torch::nn {
class Module;
}

namespace tyq {

struct PickleValue;
class ZipArchive;

/// Names and tensors in PyTorch's state_dict order.
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

/// Reads a torch.save-format zip archive and returns its top-level pickled object, with every
/// tensor on the CPU (whatever device it was saved from). Throws tyq::Error naming the file.
std::shared_ptr<PickleValue> readTorchArchive(const std::filesystem::path& path);
/// The same on an archive already opened (or held in memory); errors name zip.source().
std::shared_ptr<PickleValue> readTorchArchive(const ZipArchive& zip);

/// The state dict inside an archive's top-level object (see readStateDict); nullopt if none.
std::optional<StateDict> stateDictFromPickle(const PickleValue& root);

/// The state dict inside a torch archive: the top-level dict of tensors itself, or the dict of
/// tensors under "model" or "state_dict" (how training scripts and tyq checkpoints nest it).
StateDict readStateDict(const std::filesystem::path& path);

/// The state dict of a module in PyTorch's order (per module: parameters, buffers, then
/// children), sharing storage with the module.
StateDict collectStateDict(const torch::nn::Module& module);

struct StateDictReport {
    std::vector<std::string> missing;    ///< in the module, not in the file
    std::vector<std::string> unexpected; ///< in the file, not in the module
    std::vector<std::string> mismatched; ///< "name: file [16, 3, 3, 3] vs model [16, 3, 3]"
    bool clean() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
    /// One line per problem, for messages.
    std::string describe() const;
};

/// Copies every entry whose name and shape match into the module (converting dtype if needed).
/// Returns what did not match; applies nothing if `requireClean` and the report is not clean
/// (then throws tyq::Error naming `source` with the report).
StateDictReport applyStateDict(torch::nn::Module& module, const StateDict& state, const std::string& source,
                               bool requireClean);

/// Writes the state dict as a torch.save-compatible archive (atomically).
void writeStateDictPth(const StateDict& state, const std::filesystem::path& path);

} // namespace tyq
