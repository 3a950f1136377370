#include "quant/quant_config.h"

#include "common/atomic_file.h"
#include "common/embedded_config.h"
#include "common/error.h"
#include "common/text.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <limits>
#include <cctype>
#include <cstdio>
#include <set>

namespace tyq {
namespace {

const std::set<std::string> kQuantizerKeys = {"mode", "bit", "per_channel", "symmetric", "all_positive"};
const std::set<std::string> kModes = {"lsq"};

// The name with control characters and non-ASCII bytes shown as \xNN, for messages.
std::string printable(const std::string& name)
{
    std::string out;
    for (const char c : name.substr(0, 80)) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {
            out += c;
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", u);
            out += hex;
        }
    }
    return name.size() > 80 ? out + "..." : out;
}

std::string markLine(const YAML::Node& node)
{
    const YAML::Mark mark = node.Mark();
    return mark.line >= 0 ? " (line " + std::to_string(mark.line + 1) + ")" : "";
}

[[noreturn]] void keyError(const std::string& source, const std::string& key, const YAML::Node& node,
                           const std::string& problem)
{
    throw Error(source + ": " + key + markLine(node) + ": " + problem);
}

bool readBool(const YAML::Node& node, const std::string& source, const std::string& key)
{
    if (!node.IsScalar())
        keyError(source, key, node, "expected true or false");
    const std::string v = node.Scalar();
    if (v == "true" || v == "True" || v == "TRUE" || v == "yes" || v == "on")
        return true;
    if (v == "false" || v == "False" || v == "FALSE" || v == "no" || v == "off")
        return false;
    keyError(source, key, node, "expected true or false, got '" + v + "'");
}

QuantizerOverride readQuantizer(const YAML::Node& node, const std::string& source, const std::string& key)
{
    QuantizerOverride out;
    if (!node || node.IsNull())
        return out;
    if (!node.IsMap())
        keyError(source, key, node, "expected a mapping with mode, bit, per_channel, symmetric, all_positive");
    for (const auto& item : node) {
        const std::string field = item.first.as<std::string>();
        const std::string fieldKey = key + "." + field;
        const YAML::Node& value = item.second;
        if (!kQuantizerKeys.count(field))
            keyError(source, fieldKey, item.first,
                     "unknown field (expected mode, bit, per_channel, symmetric, all_positive)");
        if (field == "mode") {
            if (!value.IsScalar() || !kModes.count(value.Scalar()))
                keyError(source, fieldKey, value,
                         "unknown quantization mode '" + (value.IsScalar() ? value.Scalar() : std::string("?")) +
                             "' (tyq supports: lsq)");
            out.mode = value.Scalar();
        } else if (field == "bit") {
            const auto bit = value.IsScalar() ? text::parseInt(value.Scalar()) : std::nullopt;
            if (!bit)
                keyError(source, fieldKey, value, "expected an integer bit-width");
            if (*bit < 0 || *bit > 16)
                keyError(source, fieldKey, value, "bit-width " + std::to_string(*bit) + " is outside 0..16");
            out.bit = static_cast<int>(*bit);
        } else if (field == "per_channel") {
            out.perChannel = readBool(value, source, fieldKey);
        } else if (field == "symmetric") {
            out.symmetric = readBool(value, source, fieldKey);
        } else if (field == "all_positive") {
            out.allPositive = readBool(value, source, fieldKey);
        }
    }
    return out;
}

LayerQuantOverride readLayer(const YAML::Node& node, const std::string& source, const std::string& key)
{
    LayerQuantOverride out;
    if (!node || node.IsNull())
        return out;
    if (!node.IsMap())
        keyError(source, key, node, "expected a mapping with 'act' and 'weight'");
    for (const auto& item : node) {
        const std::string field = item.first.as<std::string>();
        if (field == "act")
            out.act = readQuantizer(item.second, source, key + ".act");
        else if (field == "weight")
            out.weight = readQuantizer(item.second, source, key + ".weight");
        else
            keyError(source, key + "." + field, item.first, "unknown field (expected act or weight)");
    }
    return out;
}

QuantizerSpec requireComplete(const QuantizerOverride& o, const std::string& source, const std::string& key)
{
    const char* missing = !o.mode ? "mode" : !o.bit ? "bit" : !o.perChannel ? "per_channel" : !o.symmetric ? "symmetric"
                                                                                  : !o.allPositive ? "all_positive"
                                                                                                   : nullptr;
    if (missing)
        throw Error(source + ": " + key + ": missing field '" + missing +
                    "' (quan_default must set every field; excepts may leave fields out)");
    return o.applyTo({});
}

void emitQuantizer(YAML::Emitter& out, const QuantizerOverride& o)
{
    if (o.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap; // "{}": nothing overridden
        return;
    }
    out << YAML::BeginMap;
    if (o.mode)
        out << YAML::Key << "mode" << YAML::Value << *o.mode;
    if (o.bit)
        out << YAML::Key << "bit" << YAML::Value << *o.bit;
    if (o.perChannel)
        out << YAML::Key << "per_channel" << YAML::Value << *o.perChannel;
    if (o.symmetric)
        out << YAML::Key << "symmetric" << YAML::Value << *o.symmetric;
    if (o.allPositive)
        out << YAML::Key << "all_positive" << YAML::Value << *o.allPositive;
    out << YAML::EndMap;
}

/// The network order of a module name ("module_list.<i>...": i); names without one go last.
long moduleOrder(const std::string& name)
{
    static const std::string prefix = "module_list.";
    if (name.compare(0, prefix.size(), prefix) != 0)
        return std::numeric_limits<long>::max();
    const std::optional<long long> index = text::parseInt(name.substr(prefix.size(), name.find('.', prefix.size()) - prefix.size()));
    return index ? static_cast<long>(*index) : std::numeric_limits<long>::max();
}

/// Layers in network order (module_list.8 before module_list.22), as the editor lists them.
void sortExcepts(QuantConfig& config)
{
    std::stable_sort(config.excepts.begin(), config.excepts.end(),
                     [](const auto& a, const auto& b) { return moduleOrder(a.first) < moduleOrder(b.first); });
}

QuantizerOverride fullOverride(const QuantizerSpec& s)
{
    QuantizerOverride o;
    o.mode = s.mode;
    o.bit = s.bit;
    o.perChannel = s.perChannel;
    o.symmetric = s.symmetric;
    o.allPositive = s.allPositive;
    return o;
}

} // namespace

int QuantizerSpec::qmin() const
{
    if (!enabled() || allPositive)
        return 0;
    if (symmetric)
        return -((1 << (bit - 1)) - 1);
    return -(1 << (bit - 1));
}

int QuantizerSpec::qmax() const
{
    if (!enabled())
        return 0;
    if (allPositive)
        return (1 << bit) - 1;
    return (1 << (bit - 1)) - 1;
}

long long QuantizerSpec::levels() const
{
    return enabled() ? static_cast<long long>(qmax()) - qmin() + 1 : 0;
}

QuantizerSpec QuantizerOverride::applyTo(QuantizerSpec base) const
{
    if (mode)
        base.mode = *mode;
    if (bit)
        base.bit = *bit;
    if (perChannel)
        base.perChannel = *perChannel;
    if (symmetric)
        base.symmetric = *symmetric;
    if (allPositive)
        base.allPositive = *allPositive;
    return base;
}

LayerQuantSpec QuantConfig::forModule(const std::string& moduleName) const
{
    LayerQuantSpec spec = defaults;
    if (const LayerQuantOverride* o = overrideFor(moduleName)) {
        spec.act = o->act.applyTo(spec.act);
        spec.weight = o->weight.applyTo(spec.weight);
    }
    return spec;
}

const LayerQuantOverride* QuantConfig::overrideFor(const std::string& moduleName) const
{
    for (const auto& [name, o] : excepts)
        if (name == moduleName)
            return &o;
    return nullptr;
}

void QuantConfig::setOverride(const std::string& moduleName, const LayerQuantOverride& value)
{
    auto it = std::find_if(excepts.begin(), excepts.end(), [&](const auto& e) { return e.first == moduleName; });
    const bool remove = value.act.empty() && value.weight.empty();
    if (it != excepts.end()) {
        if (remove)
            excepts.erase(it);
        else
            it->second = value;
    } else if (!remove) {
        excepts.emplace_back(moduleName, value);
        sortExcepts(*this); // network order, as files are written
    }
}

void validateQuantizerSpec(const QuantizerSpec& spec, const std::string& where)
{
    if (!kModes.count(spec.mode))
        throw Error(where + ": unknown quantization mode '" + spec.mode + "' (tyq supports: lsq)");
    if (spec.bit < 0 || spec.bit > 16)
        throw Error(where + ": bit-width " + std::to_string(spec.bit) + " is outside 0..16");
    if (spec.allPositive && spec.symmetric)
        throw Error(where + ": all_positive and symmetric cannot both be true");
    if (spec.symmetric && spec.bit == 1)
        throw Error(where + ": a symmetric 1-bit range has a single level (0); use at least 2 bits");
}

QuantConfig parseQuantConfigYaml(std::string_view yaml, const std::string& source)
{
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        throw Error(source + ": line " + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
    }
    if (!root.IsMap())
        throw Error(source + ": expected a mapping with 'quan_default' and 'excepts'");
    QuantConfig config;
    try {
        bool sawDefault = false;
        for (const auto& item : root) {
            const std::string key = item.first.as<std::string>();
            if (key == "quan_default") {
                sawDefault = true;
                const LayerQuantOverride d = readLayer(item.second, source, "quan_default");
                config.defaults.act = requireComplete(d.act, source, "quan_default.act");
                config.defaults.weight = requireComplete(d.weight, source, "quan_default.weight");
                validateQuantizerSpec(config.defaults.act, source + ": quan_default.act");
                validateQuantizerSpec(config.defaults.weight, source + ": quan_default.weight");
            } else if (key == "excepts") {
                if (item.second.IsNull())
                    continue;
                if (!item.second.IsMap())
                    keyError(source, "excepts", item.second, "expected a mapping of module names");
                for (const auto& e : item.second) {
                    const std::string name = e.first.as<std::string>();
                    // Module names are "module_list.<i>.conv_<i>"; anything else (control
                    // characters, bytes that are not UTF-8) would not survive a save.
                    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
                            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
                        }))
                        keyError(source, "excepts", e.first,
                                 "'" + printable(name) + "' is not a module name (letters, digits, '_', '.', '-')");
                    if (config.overrideFor(name))
                        keyError(source, "excepts." + name, e.first, "module listed twice");
                    config.excepts.emplace_back(name, readLayer(e.second, source, "excepts." + name));
                }
            } else {
                // Other keys of the reference's training YAML (name, dataloader, ...) are not ours.
                continue;
            }
        }
        if (!sawDefault)
            throw Error(source + ": missing 'quan_default'");
    } catch (const YAML::Exception& e) {
        throw Error(source + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    for (const auto& [name, o] : config.excepts) {
        const LayerQuantSpec spec = config.forModule(name);
        validateQuantizerSpec(spec.act, source + ": excepts." + name + ".act");
        validateQuantizerSpec(spec.weight, source + ": excepts." + name + ".weight");
    }
    sortExcepts(config);
    return config;
}

QuantConfig loadQuantConfig(const std::filesystem::path& path)
{
    return parseQuantConfigYaml(text::readTextFile(path.string(), 4 << 20), path.string());
}

std::string quantConfigToYaml(const QuantConfig& config)
{
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "quan_default" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "act" << YAML::Value;
    emitQuantizer(out, fullOverride(config.defaults.act));
    out << YAML::Key << "weight" << YAML::Value;
    emitQuantizer(out, fullOverride(config.defaults.weight));
    out << YAML::EndMap;
    // Each listed layer with both blocks complete: the reference builds an except's quantizers
    // from its own act and weight blocks alone (quantizer(excepts[name]['weight'])), without
    // quan_default. Layers in network order.
    QuantConfig ordered = config;
    sortExcepts(ordered);
    out << YAML::Key << "excepts" << YAML::Value << YAML::BeginMap;
    for (const auto& [name, o] : ordered.excepts) {
        const LayerQuantSpec spec = config.forModule(name);
        out << YAML::Key << name << YAML::Value << YAML::BeginMap;
        out << YAML::Key << "act" << YAML::Value;
        emitQuantizer(out, fullOverride(spec.act));
        out << YAML::Key << "weight" << YAML::Value;
        emitQuantizer(out, fullOverride(spec.weight));
        out << YAML::EndMap;
    }
    out << YAML::EndMap;
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

void saveQuantConfig(const QuantConfig& config, const std::filesystem::path& path)
{
    writeFileAtomically(path, quantConfigToYaml(config));
}

std::vector<std::string> checkQuantConfigAgainst(const QuantConfig& config,
                                                 const std::vector<std::string>& convModuleNames,
                                                 const std::string& source)
{
    std::vector<std::string> warnings;
    std::string valid;
    for (const std::string& name : convModuleNames)
        valid += (valid.empty() ? "" : ", ") + name;
    for (const auto& [name, o] : config.excepts) {
        if (std::find(convModuleNames.begin(), convModuleNames.end(), name) == convModuleNames.end())
            warnings.push_back(source + ": excepts." + name + " matches no convolution of the network; skipped (valid names: " +
                               valid + ")");
    }
    for (const std::string& name : convModuleNames) {
        const LayerQuantSpec spec = config.forModule(name);
        validateQuantizerSpec(spec.act, source + ": " + name + ".act");
        validateQuantizerSpec(spec.weight, source + ": " + name + ".weight");
        if (spec.act.perChannel)
            throw Error(source + ": " + name + ".act: per_channel applies to weights only");
    }
    return warnings;
}

QuantConfig defaultQuantConfig()
{
    return parseQuantConfigYaml(embeddedConfig("lsq-3bit.yaml"), "<built-in lsq-3bit.yaml>");
}

} // namespace tyq
