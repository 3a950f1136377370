// The experiment file (.tyqexp) reader: any text is an Experiment or a tyq::Error.
#include "fuzz_support.h"
#include "common/error.h"
#include "train/experiment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    try {
        const tyq::Experiment e =
            tyq::parseExperimentYaml(std::string(tyq::fuzz::asText(data, size)), "/fuzz/experiment.tyqexp");
        (void)tyq::experimentToYaml(e, "/fuzz/experiment.tyqexp");
    } catch (const tyq::Error&) {
    }
    return 0;
}
