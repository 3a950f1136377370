// Python pickles as PyTorch writes them (protocols 2-5; torch.save and torch::pickle_save),
// read without Python: a small stack machine that understands the opcodes those writers use,
// rebuilds tensors from the archive's storages and refuses anything else with a message.
// Unknown callables (an optimizer's class, say) become opaque objects, never executed.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tyq {

struct PickleValue;
using PickleRef = std::shared_ptr<PickleValue>;

struct PickleValue {
    enum class Kind { none, boolean, integer, real, string, bytes, tuple, list, dict, global, tensor, object };
    Kind kind = Kind::none;
    bool boolean = false;
    int64_t integer = 0;
    double real = 0;
    std::string text;                                 ///< string, bytes, or "module.name" of a global/object
    std::vector<PickleRef> items;                     ///< tuple, list, or an object's arguments
    std::vector<std::pair<PickleRef, PickleRef>> entries; ///< dict, in insertion order
    at::Tensor tensor;
    int depth = 0; ///< nesting depth, bounded against hostile input

    bool isString() const { return kind == Kind::string; }
    /// The value stored under a string key of a dict, or nullptr.
    const PickleValue* get(const std::string& key) const;
    /// "dict", "tensor", ... for messages.
    const char* kindName() const;
};

/// A storage reference from a persistent id: ('storage', torch.FloatStorage, key, location, numel).
struct StorageRef {
    std::string typeName; ///< "FloatStorage", ...
    std::string key;      ///< record name under data/
    int64_t numel = 0;
};

/// Element type of a storage class name ("FloatStorage" -> float); float for unknown names.
at::ScalarType storageScalarType(const std::string& typeName);

/// Runs the pickle. `loadStorage` turns a storage reference into a 1-D tensor of numel elements
/// (called once per key). Throws tyq::Error prefixed with `source` for malformed input.
PickleRef readPickle(std::string_view pickle, const std::function<at::Tensor(const StorageRef&)>& loadStorage,
                     const std::string& source);

} // namespace tyq
