// The bit-width configuration in the reference's YAML format: `quan_default` (one quantizer
// spec for activations, one for weights) and `excepts`, per-module overrides keyed by module
// name (module_list.<i>.conv_<i>). Overrides are kept field by field, exactly as written, so a
// file reads and writes back without loss and an override can be reset to the default.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tyq {

/// One quantizer: what the reference calls a `quan` block.
struct QuantizerSpec {
    std::string mode = "lsq";
    int bit = 0;             ///< 0 = not quantized (identity)
    bool perChannel = false; ///< one step size per output channel (weights only)
    bool symmetric = false;  ///< range [-(2^(b-1) - 1), 2^(b-1) - 1]
    bool allPositive = false; ///< range [0, 2^b - 1]

    bool enabled() const { return bit > 0; }
    /// Lowest code (Qn in LSQ's notation, <= 0).
    int qmin() const;
    /// Highest code (Qp).
    int qmax() const;
    /// Number of distinct codes (2^bit, or 2^bit - 1 when symmetric); 0 when disabled.
    long long levels() const;

    bool operator==(const QuantizerSpec& o) const
    {
        return mode == o.mode && bit == o.bit && perChannel == o.perChannel && symmetric == o.symmetric &&
               allPositive == o.allPositive;
    }
    bool operator!=(const QuantizerSpec& o) const { return !(*this == o); }
};

/// Fields an `excepts` entry sets; unset fields fall back to `quan_default`.
struct QuantizerOverride {
    std::optional<std::string> mode;
    std::optional<int> bit;
    std::optional<bool> perChannel;
    std::optional<bool> symmetric;
    std::optional<bool> allPositive;

    bool empty() const { return !mode && !bit && !perChannel && !symmetric && !allPositive; }
    QuantizerSpec applyTo(QuantizerSpec base) const;
    bool operator==(const QuantizerOverride& o) const
    {
        return mode == o.mode && bit == o.bit && perChannel == o.perChannel && symmetric == o.symmetric &&
               allPositive == o.allPositive;
    }
};

/// The two quantizers of a conv: its input activation and its weight.
struct LayerQuantSpec {
    QuantizerSpec act;
    QuantizerSpec weight;
    bool operator==(const LayerQuantSpec& o) const { return act == o.act && weight == o.weight; }
};

struct LayerQuantOverride {
    QuantizerOverride act;
    QuantizerOverride weight;
    bool operator==(const LayerQuantOverride& o) const { return act == o.act && weight == o.weight; }
};

struct QuantConfig {
    LayerQuantSpec defaults;
    /// Module name -> override, in file order.
    std::vector<std::pair<std::string, LayerQuantOverride>> excepts;

    /// The effective quantizers of a module (defaults with its override applied).
    LayerQuantSpec forModule(const std::string& moduleName) const;
    /// The override of a module, or nullptr.
    const LayerQuantOverride* overrideFor(const std::string& moduleName) const;
    /// Sets (or, with an empty override, removes) the override of a module.
    void setOverride(const std::string& moduleName, const LayerQuantOverride& value);

    bool operator==(const QuantConfig& o) const { return defaults == o.defaults && excepts == o.excepts; }
};

/// Throws tyq::Error if the spec is invalid (mode, bit range, symmetric with all_positive).
/// `where` prefixes the message (file and key).
void validateQuantizerSpec(const QuantizerSpec& spec, const std::string& where);

/// Parses the YAML text. Throws tyq::Error naming `source`, the key and the problem.
QuantConfig parseQuantConfigYaml(std::string_view yaml, const std::string& source);
QuantConfig loadQuantConfig(const std::filesystem::path& path);

/// YAML in the reference's format: every `excepts` entry has both `act` and `weight` blocks,
/// complete (the reference reads them without quan_default), layers in network order.
std::string quantConfigToYaml(const QuantConfig& config);
/// Writes atomically.
void saveQuantConfig(const QuantConfig& config, const std::filesystem::path& path);

/// Warnings for `excepts` keys that name no conv of the network, each listing the valid names.
/// Also checks every resolved layer spec, throwing tyq::Error for an invalid combination.
std::vector<std::string> checkQuantConfigAgainst(const QuantConfig& config,
                                                 const std::vector<std::string>& convModuleNames,
                                                 const std::string& source);

/// The reference's default (config/lsq-3bit.yaml, embedded).
QuantConfig defaultQuantConfig();

} // namespace tyq
