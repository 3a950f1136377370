#include "train/train_options.h"

#include "common/error.h"
#include "common/text.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

namespace tyq {
namespace {

// One table drives writing, reading and validation, so a new option is one line here.
struct Field {
    const char* key;
    std::function<void(YAML::Emitter&, const TrainOptions&)> write;
    std::function<void(const YAML::Node&, TrainOptions&, const std::string& where)> read;
};

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

#define TYQ_FIELD(key, member)                                                                     \
    Field                                                                                          \
    {                                                                                              \
        key, [](YAML::Emitter& e, const TrainOptions& o) { e << YAML::Key << key << YAML::Value << o.member; }, \
            [](const YAML::Node& n, TrainOptions& o, const std::string& w) {                       \
                o.member = scalar<decltype(o.member)>(n, w);                                       \
            }                                                                                      \
    }

const std::vector<Field>& fields()
{
    static const std::vector<Field> table = {
        TYQ_FIELD("epochs", epochs),
        TYQ_FIELD("batch_size", batchSize),
        TYQ_FIELD("gradient_accumulation", gradientAccumulation),
        TYQ_FIELD("learning_rate", learningRate),
        TYQ_FIELD("beta1", beta1),
        TYQ_FIELD("beta2", beta2),
        TYQ_FIELD("weight_decay", weightDecay),
        Field{"schedule",
              [](YAML::Emitter& e, const TrainOptions& o) {
                  e << YAML::Key << "schedule" << YAML::Value << lrScheduleName(o.schedule);
              },
              [](const YAML::Node& n, TrainOptions& o, const std::string& w) {
                  const std::string v = scalar<std::string>(n, w);
                  if (v == "constant")
                      o.schedule = LrSchedule::constant;
                  else if (v == "cosine")
                      o.schedule = LrSchedule::cosine;
                  else if (v == "step")
                      o.schedule = LrSchedule::step;
                  else
                      throw Error(w + ": unknown schedule '" + v + "' (constant, cosine or step)");
              }},
        Field{"step_epochs",
              [](YAML::Emitter& e, const TrainOptions& o) {
                  e << YAML::Key << "step_epochs" << YAML::Value << YAML::Flow << o.stepEpochs;
              },
              [](const YAML::Node& n, TrainOptions& o, const std::string& w) {
                  if (!n.IsSequence())
                      throw Error(w + ": expected a list of epochs, e.g. [60, 80]");
                  o.stepEpochs.clear();
                  for (const auto& item : n)
                      o.stepEpochs.push_back(scalar<int>(item, w));
              }},
        TYQ_FIELD("step_gamma", stepGamma),
        TYQ_FIELD("min_learning_rate", minLearningRate),
        TYQ_FIELD("input_width", inputWidth),
        TYQ_FIELD("input_height", inputHeight),
        TYQ_FIELD("threads", threads),
        TYQ_FIELD("seed", seed),
        TYQ_FIELD("eval_interval", evalInterval),
        TYQ_FIELD("checkpoint_interval", checkpointInterval),
        TYQ_FIELD("eval_conf_threshold", evalConfThreshold),
        TYQ_FIELD("eval_nms_threshold", evalNmsThreshold),
        TYQ_FIELD("eval_iou_threshold", evalIouThreshold),
        TYQ_FIELD("flip", flip),
        TYQ_FIELD("color_jitter", colorJitter),
        TYQ_FIELD("multi_scale", multiScale),
        TYQ_FIELD("loader_threads", loaderThreads),
        TYQ_FIELD("prefetch_batches", prefetchBatches),
        TYQ_FIELD("strict_data", strictData),
        Field{"activation_step_init",
              [](YAML::Emitter& e, const TrainOptions& o) {
                  e << YAML::Key << "activation_step_init" << YAML::Value
                    << activationStepInitName(o.activationStepInit);
              },
              [](const YAML::Node& n, TrainOptions& o, const std::string& w) {
                  const std::string v = scalar<std::string>(n, w);
                  if (v == "constant")
                      o.activationStepInit = ActivationStepInit::constant;
                  else if (v == "data")
                      o.activationStepInit = ActivationStepInit::data;
                  else
                      throw Error(w + ": unknown activation_step_init '" + v + "' (constant or data)");
              }},
        TYQ_FIELD("fast_kernels", fastKernels),
    };
    return table;
}

#undef TYQ_FIELD

const char* kSourceKeys[] = {"data", "cfg", "quant", "init_weights"};

} // namespace

const char* lrScheduleName(LrSchedule schedule)
{
    switch (schedule) {
    case LrSchedule::constant: return "constant";
    case LrSchedule::cosine: return "cosine";
    case LrSchedule::step: return "step";
    }
    return "constant";
}

const char* activationStepInitName(ActivationStepInit init)
{
    return init == ActivationStepInit::data ? "data" : "constant";
}

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
    for (const Field& f : fields())
        f.write(out, options);
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
    std::map<std::string, const Field*> byKey;
    for (const Field& f : fields())
        byKey[f.key] = &f;
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
        auto it = byKey.find(key);
        if (it == byKey.end())
            throw Error(where + ": unknown option");
        it->second->read(item.second, options, where);
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
    auto require = [](bool ok, const std::string& problem) {
        if (!ok)
            throw Error(problem);
    };
    require(o.epochs >= 1 && o.epochs <= 100000, "epochs must be 1..100000");
    require(o.batchSize >= 1 && o.batchSize <= 4096, "batch_size must be 1..4096");
    require(o.gradientAccumulation >= 1 && o.gradientAccumulation <= 1024, "gradient_accumulation must be 1..1024");
    require(o.learningRate > 0 && o.learningRate < 10, "learning_rate must be in (0, 10)");
    require(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, "beta1 and beta2 must be in [0, 1)");
    require(o.weightDecay >= 0 && std::isfinite(o.weightDecay), "weight_decay must be a finite number >= 0");
    require(o.stepGamma > 0 && o.stepGamma <= 1, "step_gamma must be in (0, 1]");
    require(o.minLearningRate >= 0 && o.minLearningRate <= o.learningRate,
            "min_learning_rate must be between 0 and learning_rate");
    require(o.inputWidth == 0 || (o.inputWidth >= 32 && o.inputWidth <= 8192 && o.inputWidth % 32 == 0),
            "input_width must be 0 (the cfg's) or a multiple of 32 up to 8192");
    require(o.inputHeight == 0 || (o.inputHeight >= 32 && o.inputHeight <= 8192 && o.inputHeight % 32 == 0),
            "input_height must be 0 (the cfg's) or a multiple of 32 up to 8192");
    require(o.threads >= 0 && o.threads <= 1024, "threads must be 0..1024");
    require(o.evalInterval >= 1, "eval_interval must be >= 1");
    require(o.checkpointInterval >= 1, "checkpoint_interval must be >= 1");
    for (float t : {o.evalConfThreshold, o.evalNmsThreshold, o.evalIouThreshold})
        require(t >= 0 && t <= 1, "eval thresholds must be in [0, 1]");
    require(o.loaderThreads >= 1 && o.loaderThreads <= 64, "loader_threads must be 1..64");
    require(o.prefetchBatches >= 1 && o.prefetchBatches <= 64, "prefetch_batches must be 1..64");
    for (int e : o.stepEpochs)
        require(e >= 1, "step_epochs must be positive epochs");
}

} // namespace tyq
