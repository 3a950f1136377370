#include "train/train_options.h"

#include "train/option_table.h"

#include "common/error.h"
#include "common/text.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace tyq {
namespace {

template <typename T>
T scalar(const YAML::Node& node, const std::string& where)
{
    try {
        return node.as<T>();
    } catch (const YAML::Exception&) {
        throw Error(where + ": expected " + (std::is_same_v<T, bool> ? "true or false" : "a number") + ", got '" +
                    (node.IsScalar() ? node.Scalar() : std::string("a non-scalar")) + "'");
    }
}

void writeOption(YAML::Emitter& e, const OptionSpec& spec, const TrainOptions& o)
{
    e << YAML::Key << spec.yamlKey << YAML::Value;
    const OptionValue v = spec.get(o);
    switch (spec.type) {
    case OptionType::integer: e << std::get<int64_t>(v); break;
    case OptionType::real: e << std::get<double>(v); break;
    case OptionType::real32: e << static_cast<float>(std::get<double>(v)); break;
    case OptionType::boolean: e << std::get<bool>(v); break;
    case OptionType::choice: e << spec.choiceWord(o); break;
    case OptionType::integerList: e << YAML::Flow << std::get<std::vector<int>>(v); break;
    }
}

void readOption(const YAML::Node& n, const OptionSpec& spec, TrainOptions& o, const std::string& where)
{
    switch (spec.type) {
    case OptionType::integer: spec.set(o, scalar<int64_t>(n, where)); break;
    case OptionType::real:
    case OptionType::real32: spec.set(o, scalar<double>(n, where)); break;
    case OptionType::boolean: spec.set(o, scalar<bool>(n, where)); break;
    case OptionType::choice:
        spec.set(o, static_cast<int64_t>(spec.choiceValue(scalar<std::string>(n, where), where)));
        break;
    case OptionType::integerList: {
        if (!n.IsSequence())
            throw Error(where + ": expected a list of epochs, e.g. [60, 80]");
        std::vector<int> values;
        for (const auto& item : n)
            values.push_back(scalar<int>(item, where));
        spec.set(o, values);
        break;
    }
    }
}

const char* kSourceKeys[] = {"data", "cfg", "quant", "init_weights"};

} // namespace

std::string trainOptionsToYaml(const TrainOptions& options, const TrainingSources* sources)
{
    YAML::Emitter out;
    out << YAML::BeginMap;
    if (sources) {
        out << YAML::Key << "data" << YAML::Value << sources->dataFile.string();
        out << YAML::Key << "cfg" << YAML::Value << sources->cfgFile.string();
        out << YAML::Key << "quant" << YAML::Value << sources->quantFile.string();
        out << YAML::Key << "init_weights" << YAML::Value << sources->initWeights.string();
    }
    for (const OptionSpec& spec : trainOptionTable())
        writeOption(out, spec, options);
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

TrainOptions parseTrainOptionsYaml(const std::string& yaml, const std::string& source, TrainingSources* sources)
{
    YAML::Node root;
    try {
        root = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
        throw Error(source + ": line " + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
    }
    TrainOptions options;
    if (root.IsNull())
        return options;
    if (!root.IsMap())
        throw Error(source + ": expected a mapping of option: value");
    for (const auto& item : root) {
        if (!item.first.IsScalar())
            throw Error(source + ": line " + std::to_string(item.first.Mark().line + 1) +
                        ": an option name must be a plain word, not a list or mapping");
        const std::string key = item.first.Scalar();
        const std::string where =
            source + ": " + key + (item.second.Mark().line >= 0 ? " (line " + std::to_string(item.second.Mark().line + 1) + ")" : "");
        if (std::find(std::begin(kSourceKeys), std::end(kSourceKeys), key) != std::end(kSourceKeys)) {
            if (sources) {
                const std::string value = item.second.IsNull() ? "" : scalar<std::string>(item.second, where);
                if (key == "data")
                    sources->dataFile = value;
                else if (key == "cfg")
                    sources->cfgFile = value;
                else if (key == "quant")
                    sources->quantFile = value;
                else
                    sources->initWeights = value;
            }
            continue;
        }
        const OptionSpec* spec = findTrainOption(key);
        if (!spec)
            throw Error(where + ": unknown option");
        readOption(item.second, *spec, options, where);
    }
    try {
        validateTrainOptions(options);
    } catch (const Error& e) {
        throw Error(source + ": " + e.what());
    }
    return options;
}

TrainOptions loadTrainOptions(const std::filesystem::path& path, TrainingSources* sources)
{
    return parseTrainOptionsYaml(text::readTextFile(path.string(), 1 << 20), path.string(), sources);
}

void validateTrainOptions(const TrainOptions& o)
{
    for (const OptionSpec& spec : trainOptionTable())
        checkTrainOptionRange(o, spec);
    // What one option's range cannot say.
    auto require = [](bool ok, const std::string& problem) {
        if (!ok)
            throw Error(problem);
    };
    require(o.minLearningRate <= o.learningRate, "min_learning_rate must be between 0 and learning_rate");
    require(o.inputWidth % 32 == 0 && (o.inputWidth == 0 || o.inputWidth >= 32),
            "input_width must be 0 (the cfg's) or a multiple of 32 up to 8192");
    require(o.inputHeight % 32 == 0 && (o.inputHeight == 0 || o.inputHeight >= 32),
            "input_height must be 0 (the cfg's) or a multiple of 32 up to 8192");
    for (int e : o.stepEpochs)
        require(e >= 1, "step_epochs must be positive epochs");
}

double learningRateAt(const TrainOptions& o, int64_t epoch, int64_t globalBatch, int64_t totalBatches)
{
    switch (o.schedule) {
    case LrSchedule::constant: return o.learningRate;
    case LrSchedule::cosine: {
        const double t = totalBatches > 0 ? std::min(1.0, double(globalBatch) / double(totalBatches)) : 0.0;
        return o.minLearningRate + 0.5 * (o.learningRate - o.minLearningRate) * (1 + std::cos(M_PI * t));
    }
    case LrSchedule::step: {
        double lr = o.learningRate;
        for (int e : o.stepEpochs)
            if (epoch >= e)
                lr *= o.stepGamma;
        return lr;
    }
    }
    return o.learningRate;
}

} // namespace tyq
