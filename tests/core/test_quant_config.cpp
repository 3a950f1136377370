#include "test_support.h"

#include "common/error.h"
#include "quant/quant_config.h"

#include <gtest/gtest.h>

namespace tyq {
namespace {

std::string errorOf(const std::string& yaml)
{
    try {
        parseQuantConfigYaml(yaml, "q.yaml");
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "no error for:\n" << yaml;
    return {};
}

const std::string kDefaults = R"(quan_default:
  act: {mode: lsq, bit: 3, per_channel: false, symmetric: false, all_positive: true}
  weight: {mode: lsq, bit: 3, per_channel: false, symmetric: true, all_positive: false}
)";

TEST(QuantConfig, RangesForEachMode)
{
    QuantizerSpec s;
    s.bit = 3;
    s.allPositive = true;
    EXPECT_EQ(s.qmin(), 0);
    EXPECT_EQ(s.qmax(), 7);
    s.allPositive = false;
    s.symmetric = true;
    EXPECT_EQ(s.qmin(), -3);
    EXPECT_EQ(s.qmax(), 3);
    EXPECT_EQ(s.levels(), 7);
    s.symmetric = false;
    EXPECT_EQ(s.qmin(), -4);
    EXPECT_EQ(s.qmax(), 3);
    s.bit = 0;
    EXPECT_FALSE(s.enabled());
    EXPECT_EQ(s.levels(), 0);
}

TEST(QuantConfig, ReadsTheReferenceYamlUnchanged)
{
    TYQ_REQUIRE_REFERENCE();
    const QuantConfig ref = loadQuantConfig(test::referenceDir() / "seed" / "yolov3-tiny_lsq.yaml");
    EXPECT_EQ(ref, defaultQuantConfig());
    const LayerQuantSpec first = ref.forModule("module_list.0.conv_0");
    EXPECT_EQ(first.act.bit, 0);
    EXPECT_EQ(first.weight.bit, 3);
    EXPECT_TRUE(first.weight.symmetric);
    EXPECT_EQ(ref.forModule("module_list.22.conv_22").act.bit, 9);
    EXPECT_EQ(ref.forModule("module_list.8.conv_8").act.bit, 3);
    EXPECT_TRUE(ref.forModule("module_list.8.conv_8").act.allPositive);
}

TEST(QuantConfig, SavedOverridesAreCompleteInNetworkOrderAndMeanTheSame)
{
    QuantConfig config = parseQuantConfigYaml(kDefaults + R"(excepts:
  module_list.4.conv_4:
    act:
      bit: 5
  module_list.0.conv_0:
    weight: {bit: 8, per_channel: true}
)",
                                              "q.yaml");
    ASSERT_EQ(config.excepts.size(), 2u);
    EXPECT_EQ(config.excepts[0].first, "module_list.0.conv_0"); // network order, as the editor lists them
    EXPECT_EQ(config.forModule("module_list.4.conv_4").act.bit, 5);
    EXPECT_TRUE(config.forModule("module_list.4.conv_4").act.allPositive); // from quan_default
    EXPECT_TRUE(config.forModule("module_list.0.conv_0").weight.perChannel);
    EXPECT_FALSE(config.overrideFor("module_list.4.conv_4")->act.symmetric.has_value());

    const std::string yaml = quantConfigToYaml(config);
    const QuantConfig again = parseQuantConfigYaml(yaml, "again.yaml");
    for (const auto& [name, o] : config.excepts)
        EXPECT_EQ(again.forModule(name), config.forModule(name)) << name;
    EXPECT_EQ(again.defaults, config.defaults);
    // The reference builds an except's quantizers from its act and weight blocks alone
    // (quantizer(excepts[name]['weight']), no quan_default): both are written complete.
    EXPECT_NE(yaml.find("module_list.4.conv_4:\n    act:\n      mode: lsq\n      bit: 5\n      per_channel: false\n"
                        "      symmetric: false\n      all_positive: true\n    weight:\n      mode: lsq\n      bit: 3\n"),
              std::string::npos)
        << yaml;
    EXPECT_EQ(yaml.find("{}"), std::string::npos) << yaml;
    EXPECT_LT(yaml.find("module_list.0.conv_0"), yaml.find("module_list.4.conv_4")); // network order

    test::TempDir dir;
    saveQuantConfig(again, dir / "saved.yaml");
    EXPECT_EQ(loadQuantConfig(dir / "saved.yaml"), again); // complete overrides round-trip exactly
}

TEST(QuantConfig, AReferenceFileSavedAgainIsTheSameFileInNetworkOrder)
{
    // config/lsq-3bit.yaml lists conv_0 and conv_22 with complete blocks, as the reference does
    // (its excepts do not inherit quan_default); an edit adds conv_8, which is written before conv_22.
    QuantConfig config = loadQuantConfig(std::filesystem::path(TYQ_SOURCE_DIR) / "config/lsq-3bit.yaml");
    ASSERT_NE(config.overrideFor("module_list.0.conv_0"), nullptr);
    EXPECT_EQ(config.overrideFor("module_list.0.conv_0")->weight.bit, 3); // pinned, as in the reference
    EXPECT_EQ(parseQuantConfigYaml(quantConfigToYaml(config), "saved.yaml"), config);
    LayerQuantOverride eight;
    eight.weight.bit = 4;
    config.setOverride("module_list.8.conv_8", eight);
    const std::string yaml = quantConfigToYaml(config);
    EXPECT_LT(yaml.find("module_list.0.conv_0"), yaml.find("module_list.8.conv_8")) << yaml;
    EXPECT_LT(yaml.find("module_list.8.conv_8"), yaml.find("module_list.22.conv_22")) << yaml;
    EXPECT_EQ(parseQuantConfigYaml(yaml, "saved.yaml").forModule("module_list.8.conv_8"),
              config.forModule("module_list.8.conv_8"));
}

TEST(QuantConfig, SetOverrideAddsReplacesAndResets)
{
    QuantConfig config = parseQuantConfigYaml(kDefaults, "q.yaml");
    LayerQuantOverride o;
    o.weight.bit = 2;
    config.setOverride("module_list.2.conv_2", o);
    EXPECT_EQ(config.forModule("module_list.2.conv_2").weight.bit, 2);
    config.setOverride("module_list.2.conv_2", LayerQuantOverride{});
    EXPECT_TRUE(config.excepts.empty());
    EXPECT_EQ(config.forModule("module_list.2.conv_2").weight.bit, 3);
}

TEST(QuantConfig, ValidationMessages)
{
    EXPECT_NE(errorOf("quan_default: [1, 2\n").find("q.yaml: line"), std::string::npos);
    EXPECT_NE(errorOf("excepts: {}\n").find("missing 'quan_default'"), std::string::npos);
    EXPECT_NE(errorOf(R"(quan_default:
  act: {mode: dorefa, bit: 3, per_channel: false, symmetric: false, all_positive: true}
  weight: {mode: lsq, bit: 3, per_channel: false, symmetric: true, all_positive: false}
)").find("unknown quantization mode 'dorefa'"),
              std::string::npos);
    EXPECT_NE(errorOf(R"(quan_default:
  act: {mode: lsq, bit: 17, per_channel: false, symmetric: false, all_positive: true}
  weight: {mode: lsq, bit: 3, per_channel: false, symmetric: true, all_positive: false}
)").find("bit-width 17 is outside 0..16"),
              std::string::npos);
    EXPECT_NE(errorOf(R"(quan_default:
  act: {mode: lsq, bit: 3, per_channel: false, symmetric: true, all_positive: true}
  weight: {mode: lsq, bit: 3, per_channel: false, symmetric: true, all_positive: false}
)").find("all_positive and symmetric cannot both be true"),
              std::string::npos);
    EXPECT_NE(errorOf(R"(quan_default:
  act: {mode: lsq, bit: 3, symmetric: false, all_positive: true}
  weight: {mode: lsq, bit: 3, per_channel: false, symmetric: true, all_positive: false}
)").find("quan_default.act: missing field 'per_channel'"),
              std::string::npos);
    EXPECT_NE(errorOf(kDefaults + "excepts:\n  module_list.0.conv_0:\n    act: {bits: 4}\n").find("unknown field"),
              std::string::npos);
    EXPECT_NE(errorOf(kDefaults + "excepts:\n  module_list.0.conv_0:\n    weight: {all_positive: true}\n")
                  .find("excepts.module_list.0.conv_0.weight: all_positive and symmetric"),
              std::string::npos);
    EXPECT_NE(errorOf(kDefaults + "excepts:\n  module_list.0.conv_0:\n    act: {per_channel: maybe}\n")
                  .find("expected true or false"),
              std::string::npos);
}

TEST(QuantConfig, UnknownModuleNamesWarnWithTheValidNames)
{
    const QuantConfig config = parseQuantConfigYaml(kDefaults + "excepts:\n  module_list.5.conv_5:\n    act: {bit: 4}\n",
                                                    "q.yaml");
    const auto warnings = checkQuantConfigAgainst(config, {"module_list.0.conv_0", "module_list.2.conv_2"}, "q.yaml");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("module_list.5.conv_5 matches no convolution"), std::string::npos);
    EXPECT_NE(warnings[0].find("module_list.0.conv_0, module_list.2.conv_2"), std::string::npos);
}

} // namespace
} // namespace tyq
