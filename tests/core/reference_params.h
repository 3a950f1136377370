// The reference's own list of parameter names and shapes (seed/lsq_model_params.txt), read
// independently of tyq's code, for the tests that check tyq's names against it.
#pragma once

#include "io/state_dict.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tyq::test {

struct NamedShape {
    std::string name;
    std::vector<int64_t> shape;
    bool operator==(const NamedShape& o) const { return name == o.name && shape == o.shape; }
};

inline std::ostream& operator<<(std::ostream& os, const NamedShape& n)
{
    os << n.name << " [";
    for (size_t i = 0; i < n.shape.size(); ++i)
        os << (i ? ", " : "") << n.shape[i];
    return os << "]";
}

/// Names and shapes of a state dict, in its order, to compare with the reference's list.
inline std::vector<NamedShape> namesAndShapes(const StateDict& state)
{
    std::vector<NamedShape> out;
    for (const auto& [name, tensor] : state)
        out.push_back({name, tensor.sizes().vec()});
    return out;
}

struct ReferenceParams {
    std::vector<NamedShape> fp;  ///< parameters before quantization (no buffers)
    std::vector<NamedShape> lsq; ///< after quantization (no buffers)
};

/// Parses lines "name<TAB><TAB>True<TAB><TAB>torch.Size([16, 3, 3, 3])"; the line
/// "After quantization:" separates the two lists.
inline ReferenceParams readReferenceParams(const std::filesystem::path& file)
{
    ReferenceParams out;
    std::ifstream in(file);
    EXPECT_TRUE(in) << "cannot read " << file;
    bool after = false;
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("After quantization", 0) == 0) {
            after = true;
            continue;
        }
        std::istringstream words(line);
        NamedShape entry;
        if (!(words >> entry.name))
            continue;
        const size_t open = line.find("([");
        const size_t close = line.find("])");
        EXPECT_TRUE(open != std::string::npos && close != std::string::npos) << "unexpected line: " << line;
        if (open == std::string::npos || close == std::string::npos)
            continue;
        std::string dims = line.substr(open + 2, close - open - 2);
        for (char& c : dims)
            if (c == ',')
                c = ' ';
        std::istringstream dimWords(dims);
        int64_t d = 0;
        while (dimWords >> d)
            entry.shape.push_back(d);
        (after ? out.lsq : out.fp).push_back(entry);
    }
    return out;
}

/// The full state dict in PyTorch's order: the file lists parameters only, so BatchNorm's
/// running_mean, running_var ([C]) and num_batches_tracked ([]) follow each batch_norm bias.
inline std::vector<NamedShape> withBatchNormBuffers(const std::vector<NamedShape>& params)
{
    std::vector<NamedShape> out;
    for (const NamedShape& p : params) {
        out.push_back(p);
        const std::string suffix = ".bias";
        if (p.name.find(".batch_norm_") != std::string::npos &&
            p.name.compare(p.name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            const std::string prefix = p.name.substr(0, p.name.size() - suffix.size());
            out.push_back({prefix + ".running_mean", p.shape});
            out.push_back({prefix + ".running_var", p.shape});
            out.push_back({prefix + ".num_batches_tracked", {}});
        }
    }
    return out;
}

} // namespace tyq::test
