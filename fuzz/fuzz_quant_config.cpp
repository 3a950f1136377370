// The bit-width YAML reader: any text is a QuantConfig (that writes back and reads back equal)
// or a tyq::Error.
#include "fuzz_support.h"
#include "common/error.h"
#include "quant/quant_config.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    tyq::QuantConfig config;
    try {
        config = tyq::parseQuantConfigYaml(tyq::fuzz::asText(data, size), "fuzz.yaml");
    } catch (const tyq::Error&) {
        return 0;
    }
    for (const auto& [name, o] : config.excepts)
        (void)config.forModule(name).weight.levels();
    try {
        (void)tyq::checkQuantConfigAgainst(config, {"module_list.0.conv_0", "module_list.2.conv_2"}, "fuzz.yaml");
    } catch (const tyq::Error&) {
    }
    // What tyq writes, tyq reads back to the same configuration.
    const std::string yaml = tyq::quantConfigToYaml(config);
    if (!(tyq::parseQuantConfigYaml(yaml, "round trip") == config)) {
        std::fprintf(stderr, "round trip differs; written:\n%s\nread back and written again:\n%s\n", yaml.c_str(),
                     tyq::quantConfigToYaml(tyq::parseQuantConfigYaml(yaml, "round trip")).c_str());
        std::abort();
    }
    return 0;
}
