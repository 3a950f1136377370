#include "train/option_table.h"

#include "common/error.h"
#include "common/text.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <type_traits>

namespace tyq {
namespace {

/// Builds an entry from a member pointer, so each option below is one readable statement.
template <typename T>
OptionSpec entry(T TrainOptions::*field, OptionType type, const char* key, const char* flag, const char* label,
                 const char* help)
{
    OptionSpec s{key, flag, FlagKind::value, label, help, "", type, 0, 0, "", {}, FormPlace::advanced, "", 0, false, {}, {}};
    s.get = [field](const TrainOptions& o) -> OptionValue {
        if constexpr (std::is_same_v<T, bool>)
            return o.*field;
        else if constexpr (std::is_same_v<T, std::vector<int>>)
            return o.*field;
        else if constexpr (std::is_enum_v<T>)
            return static_cast<int64_t>(o.*field);
        else if constexpr (std::is_floating_point_v<T>)
            return static_cast<double>(o.*field);
        else
            return static_cast<int64_t>(o.*field);
    };
    s.set = [field](TrainOptions& o, const OptionValue& v) {
        if constexpr (std::is_same_v<T, bool>)
            o.*field = std::get<bool>(v);
        else if constexpr (std::is_same_v<T, std::vector<int>>)
            o.*field = std::get<std::vector<int>>(v);
        else if constexpr (std::is_enum_v<T>)
            o.*field = static_cast<T>(std::get<int64_t>(v));
        else if constexpr (std::is_floating_point_v<T>)
            o.*field = static_cast<T>(std::get<double>(v));
        else
            o.*field = static_cast<T>(std::get<int64_t>(v));
    };
    return s;
}

template <typename T>
OptionSpec number(T TrainOptions::*field, const char* key, const char* flag, const char* label, const char* help,
                  double min, double max, const char* rangeText, FormPlace form = FormPlace::advanced)
{
    const OptionType type = std::is_same_v<T, float>    ? OptionType::real32
                            : std::is_same_v<T, double> ? OptionType::real
                                                        : OptionType::integer;
    OptionSpec s = entry(field, type, key, flag, label, help);
    s.min = min;
    s.max = max;
    s.rangeText = rangeText;
    s.form = form;
    return s;
}

OptionSpec toggle(bool TrainOptions::*field, const char* key, const char* flag, FlagKind kind, const char* label,
                  const char* help, FormPlace form = FormPlace::advanced, const char* flagHelp = "")
{
    OptionSpec s = entry(field, OptionType::boolean, key, flag, label, help);
    s.flagKind = kind;
    s.form = form;
    s.flagHelp = flagHelp;
    return s;
}

template <typename E>
OptionSpec choice(E TrainOptions::*field, const char* key, const char* flag, const char* label, const char* help,
                  std::vector<OptionChoice> choices, FormPlace form = FormPlace::advanced)
{
    OptionSpec s = entry(field, OptionType::choice, key, flag, label, help);
    s.choices = std::move(choices);
    s.form = form;
    return s;
}

OptionSpec with(OptionSpec s, const char* zeroText, bool lsqOnly = false)
{
    s.zeroText = zeroText;
    s.lsqOnly = lsqOnly;
    return s;
}

OptionSpec stepping(OptionSpec s, double step)
{
    s.step = step;
    return s;
}

constexpr double kNoLimit = 1e18;

// Open bounds: learning_rate in (0, 10) and the betas in [0, 1) are enforced as the closest
// doubles inside, so one inclusive check serves every entry.
const double kAboveZero = std::nextafter(0.0, 1.0);
const double kBelowTen = std::nextafter(10.0, 0.0);
const double kBelowOne = std::nextafter(1.0, 0.0);

} // namespace

const std::vector<OptionSpec>& trainOptionTable()
{
    using O = TrainOptions;
    using F = FormPlace;
    static const std::vector<OptionSpec> table = {
        number(&O::epochs, "epochs", "--epochs", "Epochs", "Epochs to train in total", 1, 100000, "1..100000", F::main),
        number(&O::batchSize, "batch_size", "--batch-size,-b", "Batch size", "Images per batch", 1, 4096, "1..4096",
               F::main),
        number(&O::gradientAccumulation, "gradient_accumulation", "--accumulate", "Gradient accumulation",
               "Batches per optimizer step", 1, 1024, "1..1024", F::main),
        stepping(number(&O::learningRate, "learning_rate", "--lr", "Learning rate (Adam)", "Adam learning rate",
                        kAboveZero, kBelowTen, "in (0, 10)", F::main),
                 1e-4),
        number(&O::beta1, "beta1", "--beta1", "Adam beta1", "Adam beta1", 0, kBelowOne, "in [0, 1)"),
        number(&O::beta2, "beta2", "--beta2", "Adam beta2", "Adam beta2", 0, kBelowOne, "in [0, 1)"),
        number(&O::weightDecay, "weight_decay", "--weight-decay", "Weight decay",
               "Adam L2 weight decay (the reference uses none)", 0, kNoLimit, "a finite number >= 0"),
        choice(&O::schedule, "schedule", "--schedule", "Schedule", "Learning-rate schedule over the run",
               {{"constant", "constant", int(LrSchedule::constant)},
                {"cosine", "cosine", int(LrSchedule::cosine)},
                {"step", "step", int(LrSchedule::step)}},
               F::main),
        entry(&O::stepEpochs, OptionType::integerList, "step_epochs", "--step-epochs", "Step epochs",
              "Step schedule: epochs where the learning rate is multiplied by the step factor"),
        number(&O::stepGamma, "step_gamma", "--step-gamma", "Step factor", "Step schedule factor", 1e-300, 1, "in (0, 1]"),
        number(&O::minLearningRate, "min_learning_rate", "", "Cosine floor", "Cosine schedule: the last learning rate",
               0, kBelowTen, "between 0 and learning_rate"),
        stepping(with(number(&O::inputWidth, "input_width", "--width", "Input width",
                             "Network input width, a multiple of 32 (0: the cfg's)", 0, 8192,
                             "0 (the cfg's) or a multiple of 32 up to 8192", F::main),
                      "cfg"),
                 32),
        stepping(with(number(&O::inputHeight, "input_height", "--height", "Input height",
                             "Network input height, a multiple of 32 (0: the cfg's)", 0, 8192,
                             "0 (the cfg's) or a multiple of 32 up to 8192", F::main),
                      "cfg"),
                 32),
        with(number(&O::threads, "threads", "", "Threads", "Compute threads (0: every core; tyq's global --threads)", 0,
                    1024, "0..1024", F::main),
             "all cores"),
        number(&O::seed, "seed", "--seed", "Seed", "Seeds initialization, shuffling and augmentation", 0, 9.0e15,
               ">= 0", F::main),
        number(&O::evalInterval, "eval_interval", "--eval-interval", "Evaluate every (epochs)",
               "Evaluate every N epochs (and after the last)", 1, kNoLimit, ">= 1", F::main),
        number(&O::checkpointInterval, "checkpoint_interval", "--checkpoint-interval", "Checkpoint every (epochs)",
               "Keep a periodic checkpoint every N epochs", 1, kNoLimit, ">= 1"),
        number(&O::evalConfThreshold, "eval_conf_threshold", "--conf", "Evaluation conf", "Evaluation objectness threshold",
               0, 1, "in [0, 1]"),
        number(&O::evalNmsThreshold, "eval_nms_threshold", "--nms", "Evaluation NMS", "Evaluation NMS threshold", 0, 1,
               "in [0, 1]"),
        number(&O::evalIouThreshold, "eval_iou_threshold", "--iou", "Evaluation IoU",
               "Evaluation IoU for a true positive", 0, 1, "in [0, 1]"),
        toggle(&O::flip, "flip", "--no-flip", FlagKind::setsFalse, "Horizontal flip",
               "Horizontal-flip augmentation with p = 0.5 (the reference's)", F::main, "No horizontal-flip augmentation"),
        toggle(&O::colorJitter, "color_jitter", "--color-jitter", FlagKind::setsTrue, "Colour jitter",
               "Brightness/saturation/hue augmentation", F::main),
        toggle(&O::multiScale, "multi_scale", "--multi-scale", FlagKind::setsTrue, "Multi-scale",
               "Random input size per batch (+-3 steps of 32)", F::main),
        number(&O::loaderThreads, "loader_threads", "--loader-threads", "Loader threads",
               "Threads decoding and augmenting images", 1, 64, "1..64"),
        number(&O::prefetchBatches, "prefetch_batches", "", "Prefetched batches",
               "Batches prepared ahead of the trainer", 1, 64, "1..64"),
        toggle(&O::strictData, "strict_data", "--strict", FlagKind::setsTrue, "Strict data",
               "Stop at the first bad label or image instead of skipping it"),
        with(choice(&O::activationStepInit, "activation_step_init", "--act-step-init", "LSQ activation steps",
                    "LSQ activation step init: constant (0.126, the reference) or data (2 mean|x| / sqrt(Qp) on the "
                    "first batch, the LSQ paper)",
                    {{"constant", "constant 0.126 (reference)", int(ActivationStepInit::constant)},
                     {"data", "from the first batch (LSQ paper)", int(ActivationStepInit::data)}},
                    F::main),
             "", /*lsqOnly=*/true),
        choice(&O::precision, "precision", "--precision", "Precision",
               "Training arithmetic: fp32, or bf16 mixed precision (bf16 convolutions accumulating in f32, f32 master "
               "weights; needs AVX-512, native with AVX512_BF16). Evaluation always runs in fp32",
               {{"fp32", "fp32", int(Precision::fp32)}, {"bf16", "bf16 mixed precision", int(Precision::bf16)}}),
        toggle(&O::syncBatchNorm, "sync_batch_norm", "--sync-bn", FlagKind::setsTrue, "Synchronized batch norm",
               "Data-parallel runs: batch-norm statistics over the global batch (allreduced), as PyTorch's "
               "SyncBatchNorm; default: each process's own batch, as PyTorch DDP"),
        toggle(&O::fastKernels, "fast_kernels", "--reference-kernels", FlagKind::setsFalse, "Fast kernels",
               "The fast path for training and evaluation (the same numbers to float rounding)", F::advanced,
               "Use the straightforward reference path (NCHW, op by op, reference quantizer) for training and "
               "evaluation"),
    };
    return table;
}

const OptionSpec* findTrainOption(const std::string& yamlKey)
{
    for (const OptionSpec& s : trainOptionTable())
        if (yamlKey == s.yamlKey)
            return &s;
    return nullptr;
}

std::string OptionSpec::choiceWord(const TrainOptions& options) const
{
    const int64_t value = std::get<int64_t>(get(options));
    for (const OptionChoice& c : choices)
        if (c.value == value)
            return c.word;
    return choices.empty() ? "" : choices.front().word;
}

int OptionSpec::choiceValue(const std::string& word, const std::string& where) const
{
    std::string words;
    for (const OptionChoice& c : choices) {
        if (word == c.word)
            return c.value;
        words += (words.empty() ? "" : choices.back().word == c.word ? " or " : ", ") + std::string(c.word);
    }
    throw Error(fmt::format("{}: unknown {} '{}' ({})", where, yamlKey, word, words));
}

std::string OptionSpec::text(const TrainOptions& options) const
{
    const OptionValue v = get(options);
    switch (type) {
    case OptionType::integer: return std::to_string(std::get<int64_t>(v));
    case OptionType::real: return fmt::format("{}", std::get<double>(v));
    case OptionType::real32: return fmt::format("{}", static_cast<float>(std::get<double>(v)));
    case OptionType::boolean: return std::get<bool>(v) ? "true" : "false";
    case OptionType::choice: return choiceWord(options);
    case OptionType::integerList: {
        std::string out;
        for (int e : std::get<std::vector<int>>(v))
            out += (out.empty() ? "" : ",") + std::to_string(e);
        return out;
    }
    }
    return {};
}

void setTrainOptionFromText(TrainOptions& options, const OptionSpec& spec, const std::string& text,
                            const std::string& where)
{
    auto number = [&](const std::string& t) {
        const std::optional<double> v = text::parseDouble(text::trim(t));
        if (!v)
            throw Error(fmt::format("{}: expected a number, got '{}'", where, t));
        return *v;
    };
    auto integer = [&](const std::string& t) {
        const double v = number(t);
        if (v != std::floor(v) || std::abs(v) > 9.0e15)
            throw Error(fmt::format("{}: expected a whole number, got '{}'", where, t));
        return static_cast<int64_t>(v);
    };
    switch (spec.type) {
    case OptionType::integer: spec.set(options, integer(text)); break;
    case OptionType::real:
    case OptionType::real32: spec.set(options, number(text)); break;
    case OptionType::boolean:
        if (text == "true" || text == "1")
            spec.set(options, true);
        else if (text == "false" || text == "0")
            spec.set(options, false);
        else
            throw Error(fmt::format("{}: expected true or false, got '{}'", where, text));
        break;
    case OptionType::choice: spec.set(options, static_cast<int64_t>(spec.choiceValue(text, where))); break;
    case OptionType::integerList: {
        std::vector<int> values;
        for (const std::string& part : text::split(text, ','))
            if (!text::trim(part).empty())
                values.push_back(static_cast<int>(integer(part)));
        spec.set(options, values);
        break;
    }
    }
    try {
        checkTrainOptionRange(options, spec);
    } catch (const Error& e) {
        throw Error(where + ": " + e.what());
    }
}

void checkTrainOptionRange(const TrainOptions& options, const OptionSpec& spec)
{
    if (spec.type != OptionType::integer && spec.type != OptionType::real && spec.type != OptionType::real32)
        return;
    const OptionValue v = spec.get(options);
    const double value = spec.type == OptionType::integer ? static_cast<double>(std::get<int64_t>(v)) : std::get<double>(v);
    if (!(value >= spec.min && value <= spec.max)) // NaN fails too
        throw Error(fmt::format("{} must be {}", spec.yamlKey, spec.rangeText));
}

} // namespace tyq
