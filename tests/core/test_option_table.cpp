// The training-option table (train/option_table.h) that options.yaml, `tyq train` and the
// studio's form are built from: the YAML format unchanged byte for byte, every option round
// trips, ranges refused with the key and the range named, flag and key names unique.
#include "test_support.h"

#include "common/error.h"
#include "train/option_table.h"
#include "train/train_options.h"

#include <gtest/gtest.h>

#include <set>

using namespace tyq;
using tyq::test::readBytes;

namespace {

std::filesystem::path golden(const std::string& name)
{
    return std::filesystem::path(TYQ_SOURCE_DIR) / "tests/data/train_options" / name;
}

std::string parseError(const std::string& yaml)
{
    try {
        parseTrainOptionsYaml(yaml, "options.yaml");
    } catch (const Error& e) {
        return e.what();
    }
    return "(accepted)";
}

/// A value different from the default, inside the option's range.
void setNonDefault(TrainOptions& o, const OptionSpec& spec)
{
    const OptionValue v = spec.get(o);
    switch (spec.type) {
    case OptionType::integer: {
        const int64_t now = std::get<int64_t>(v);
        spec.set(o, now + 32 <= spec.max ? now + 32 : now - 1);
        break;
    }
    case OptionType::real:
    case OptionType::real32: {
        const double now = std::get<double>(v);
        spec.set(o, now * 0.5 >= spec.min && now != 0 ? now * 0.5 : std::min(spec.max, now + 0.25));
        break;
    }
    case OptionType::boolean: spec.set(o, !std::get<bool>(v)); break;
    case OptionType::choice: spec.set(o, static_cast<int64_t>(spec.choices.back().value)); break;
    case OptionType::integerList: spec.set(o, std::vector<int>{7, 9}); break;
    }
}

} // namespace

TEST(OptionTable, OptionsYamlIsWrittenAsBefore)
{
    // Written by tyq before the table existed (tests/data/train_options): runs recorded then
    // and now have the same options.yaml.
    EXPECT_EQ(trainOptionsToYaml(TrainOptions{}), readBytes(golden("defaults.yaml")));
    TrainOptions o;
    o.set_epochs(7)
        .set_learningRate(2.5e-4)
        .set_schedule(LrSchedule::step)
        .set_stepEpochs({3, 5})
        .set_evalConfThreshold(0.1f)
        .set_evalNmsThreshold(0.45f)
        .set_flip(false)
        .set_activationStepInit(ActivationStepInit::data)
        .set_seed(12345678901ull)
        .set_inputWidth(320);
    TrainingSources sources;
    sources.dataFile = "d/dac.data";
    sources.quantFile = "q.yaml";
    EXPECT_EQ(trainOptionsToYaml(o, &sources), readBytes(golden("with_sources.yaml")));
}

TEST(OptionTable, EveryOptionRoundTripsThroughYaml)
{
    TrainOptions changed;
    for (const OptionSpec& spec : trainOptionTable())
        setNonDefault(changed, spec);
    changed.minLearningRate = changed.learningRate / 2; // the one rule between two options
    ASSERT_NO_THROW(validateTrainOptions(changed));
    const TrainOptions back = parseTrainOptionsYaml(trainOptionsToYaml(changed), "round trip");
    for (const OptionSpec& spec : trainOptionTable()) {
        EXPECT_EQ(spec.text(back), spec.text(changed)) << spec.yamlKey;
        EXPECT_NE(spec.text(back), spec.text(TrainOptions{})) << spec.yamlKey << " kept its default";
    }
}

TEST(OptionTable, DefaultsAreInsideTheirRanges)
{
    for (const OptionSpec& spec : trainOptionTable())
        EXPECT_NO_THROW(checkTrainOptionRange(TrainOptions{}, spec)) << spec.yamlKey;
}

TEST(OptionTable, KeysAndFlagsAreUnique)
{
    std::set<std::string> keys, flags;
    for (const OptionSpec& spec : trainOptionTable()) {
        EXPECT_TRUE(keys.insert(spec.yamlKey).second) << spec.yamlKey;
        if (*spec.flag) {
            EXPECT_TRUE(flags.insert(spec.flag).second) << spec.flag;
        }
        EXPECT_EQ(findTrainOption(spec.yamlKey), &spec);
        EXPECT_NE(std::string(spec.help), "") << spec.yamlKey;
    }
    EXPECT_EQ(findTrainOption("no_such_option"), nullptr);
}

TEST(OptionTable, OutOfRangeValuesNameTheKeyAndTheRange)
{
    EXPECT_CONTAINS(parseError("learning_rate: 0\n"), "options.yaml: learning_rate must be in (0, 10)");
    EXPECT_CONTAINS(parseError("learning_rate: 10\n"), "learning_rate must be in (0, 10)");
    EXPECT_CONTAINS(parseError("learning_rate: .nan\n"), "learning_rate must be in (0, 10)");
    EXPECT_CONTAINS(parseError("batch_size: 0\n"), "batch_size must be 1..4096");
    EXPECT_CONTAINS(parseError("epochs: 100001\n"), "epochs must be 1..100000");
    EXPECT_CONTAINS(parseError("beta2: 1\n"), "beta2 must be in [0, 1)");
    EXPECT_CONTAINS(parseError("weight_decay: .inf\n"), "weight_decay must be a finite number >= 0");
    EXPECT_CONTAINS(parseError("eval_nms_threshold: 1.5\n"), "eval_nms_threshold must be in [0, 1]");
    EXPECT_CONTAINS(parseError("seed: -1\n"), "seed must be >= 0");
    EXPECT_CONTAINS(parseError("input_width: 100\n"), "input_width must be 0 (the cfg's) or a multiple of 32");
    EXPECT_CONTAINS(parseError("min_learning_rate: 0.01\n"), "min_learning_rate must be between 0 and learning_rate");
    EXPECT_CONTAINS(parseError("schedule: linear\n"), "unknown schedule 'linear' (constant, cosine or step)");
    EXPECT_CONTAINS(parseError("flip: maybe\n"), "flip (line 1): expected true or false, got 'maybe'");
    EXPECT_CONTAINS(parseError("batch_size: many\n"), "batch_size (line 1): expected a number, got 'many'");
    EXPECT_CONTAINS(parseError("batch_sise: 8\n"), "batch_sise (line 1): unknown option");
}

TEST(OptionTable, FlagTextIsParsedAndCheckedLikeYaml)
{
    TrainOptions o;
    setTrainOptionFromText(o, *findTrainOption("learning_rate"), "2e-4", "--lr");
    EXPECT_DOUBLE_EQ(o.learningRate, 2e-4);
    setTrainOptionFromText(o, *findTrainOption("step_epochs"), "60, 80", "--step-epochs");
    EXPECT_EQ(o.stepEpochs, (std::vector<int>{60, 80}));
    setTrainOptionFromText(o, *findTrainOption("activation_step_init"), "data", "--act-step-init");
    EXPECT_EQ(o.activationStepInit, ActivationStepInit::data);
    auto error = [&](const char* key, const std::string& text, const std::string& flag) {
        try {
            setTrainOptionFromText(o, *findTrainOption(key), text, flag);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("(accepted)");
    };
    EXPECT_EQ(error("learning_rate", "abc", "--lr"), "--lr: expected a number, got 'abc'");
    EXPECT_EQ(error("batch_size", "2.5", "--batch-size"), "--batch-size: expected a whole number, got '2.5'");
    EXPECT_EQ(error("batch_size", "0", "--batch-size"), "--batch-size: batch_size must be 1..4096");
    EXPECT_EQ(error("schedule", "linear", "--schedule"), "--schedule: unknown schedule 'linear' (constant, cosine or step)");
}
