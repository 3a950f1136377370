// The training options YAML reader: any text is valid TrainOptions or a tyq::Error.
#include "fuzz_support.h"
#include "common/error.h"
#include "train/train_options.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    tyq::TrainOptions options;
    tyq::TrainingSources sources;
    try {
        options = tyq::parseTrainOptionsYaml(std::string(tyq::fuzz::asText(data, size)), "fuzz.yaml", &sources);
    } catch (const tyq::Error&) {
        return 0;
    }
    // Accepted options are valid and survive a write and read.
    const std::string yaml = tyq::trainOptionsToYaml(options, &sources);
    const tyq::TrainOptions again = tyq::parseTrainOptionsYaml(yaml, "round trip");
    if (tyq::trainOptionsToYaml(again) != tyq::trainOptionsToYaml(options))
        std::abort();
    return 0;
}
