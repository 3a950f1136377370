// The network cfg reader (parseDarknetCfgText): any text is a NetworkSpec or a tyq::Error.
#include "fuzz_support.h"
#include "common/error.h"
#include "model/darknet_cfg.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    try {
        const tyq::NetworkSpec spec = tyq::parseDarknetCfgText(tyq::fuzz::asText(data, size), "fuzz.cfg");
        (void)spec.requiredInputMultiple();
        (void)spec.convIndices();
    } catch (const tyq::Error&) {
    }
    return 0;
}
