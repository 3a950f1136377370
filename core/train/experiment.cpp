#include "train/experiment.h"

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/text.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

namespace tyq {
namespace {

std::string relativeTo(const std::filesystem::path& p, const std::filesystem::path& base)
{
    if (p.empty() || base.empty())
        return p.string();
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(p, ec);
    const std::filesystem::path relative = std::filesystem::relative(absolute, std::filesystem::absolute(base, ec), ec);
    return ec || relative.empty() ? p.string() : relative.string();
}

std::filesystem::path resolved(const std::string& value, const std::filesystem::path& base)
{
    if (value.empty())
        return {};
    const std::filesystem::path p(value);
    return p.is_absolute() || base.empty() ? p : (base / p).lexically_normal();
}

} // namespace

bool Experiment::operator==(const Experiment& o) const
{
    return dataFile == o.dataFile && cfgFile == o.cfgFile && quantFile == o.quantFile && phase == o.phase &&
           fpCheckpoint == o.fpCheckpoint && runsRoot == o.runsRoot && processes == o.processes &&
           trainOptionsToYaml(options) == trainOptionsToYaml(o.options);
}

Experiment defaultExperiment()
{
    Experiment e;
    e.options.set_epochs(30).set_batchSize(16).set_gradientAccumulation(1).set_evalInterval(2);
    return e;
}

std::string experimentToYaml(const Experiment& e, const std::filesystem::path& savedAt)
{
    const std::filesystem::path base = savedAt.empty() ? std::filesystem::path() : savedAt.parent_path();
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "tyq_experiment" << YAML::Value << 1;
    out << YAML::Key << "data" << YAML::Value << relativeTo(e.dataFile, base);
    out << YAML::Key << "cfg" << YAML::Value << relativeTo(e.cfgFile, base);
    out << YAML::Key << "quant" << YAML::Value << relativeTo(e.quantFile, base);
    out << YAML::Key << "phase" << YAML::Value << e.phase;
    out << YAML::Key << "fp_checkpoint" << YAML::Value << relativeTo(e.fpCheckpoint, base);
    out << YAML::Key << "runs_root" << YAML::Value << relativeTo(e.runsRoot, base);
    out << YAML::Key << "processes" << YAML::Value << e.processes;
    out << YAML::Key << "options" << YAML::Value << YAML::Load(trainOptionsToYaml(e.options));
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

Experiment parseExperimentYaml(const std::string& yaml, const std::filesystem::path& source)
{
    const std::string name = source.string();
    YAML::Node root;
    try {
        root = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
        throw Error(name + ": line " + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
    }
    if (!root.IsMap() || !root["tyq_experiment"])
        throw Error(name + ": not a tyq experiment file (no 'tyq_experiment' key)");
    const std::filesystem::path base = source.parent_path();
    Experiment e = defaultExperiment();
    auto text = [&](const char* key) -> std::string {
        const YAML::Node n = root[key];
        if (!n || n.IsNull())
            return {};
        if (!n.IsScalar())
            throw Error(name + ": '" + key + "' must be a path");
        return n.Scalar();
    };
    for (const auto& item : root) {
        if (!item.first.IsScalar())
            throw Error(name + ": line " + std::to_string(item.first.Mark().line + 1) +
                        ": a key must be a plain word, not a list or mapping");
        const std::string key = item.first.Scalar();
        static const char* known[] = {"tyq_experiment", "data", "cfg", "quant", "phase", "fp_checkpoint", "runs_root", "processes", "options"};
        if (std::find(std::begin(known), std::end(known), key) == std::end(known))
            throw Error(name + ": unknown key '" + key + "'");
    }
    e.dataFile = resolved(text("data"), base);
    e.cfgFile = resolved(text("cfg"), base);
    e.quantFile = resolved(text("quant"), base);
    e.fpCheckpoint = resolved(text("fp_checkpoint"), base);
    e.runsRoot = resolved(text("runs_root"), base);
    if (e.runsRoot.empty())
        e.runsRoot = "exps";
    if (const std::string n = text("processes"); !n.empty()) {
        try {
            size_t used = 0;
            e.processes = std::stoi(n, &used);
            if (used != n.size() || e.processes < 1 || e.processes > 256)
                throw std::invalid_argument(n);
        } catch (const std::exception&) {
            throw Error(name + ": 'processes' must be a whole number from 1 to 256, got '" + n + "'");
        }
    }
    e.phase = text("phase").empty() ? "fp" : text("phase");
    if (e.phase != "fp" && e.phase != "lsq")
        throw Error(name + ": phase must be fp or lsq, got '" + e.phase + "'");
    if (const YAML::Node options = root["options"]; options && !options.IsNull()) {
        YAML::Emitter out;
        out << options;
        e.options = parseTrainOptionsYaml(out.c_str(), name + " (options)");
    }
    return e;
}

Experiment loadExperiment(const std::filesystem::path& path)
{
    return parseExperimentYaml(text::readTextFile(path.string(), 1 << 20), path);
}

void saveExperiment(const Experiment& experiment, const std::filesystem::path& path)
{
    writeFileAtomically(path, experimentToYaml(experiment, path));
}

} // namespace tyq
