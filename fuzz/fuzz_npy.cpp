// The .npy reader (parseNpy): any bytes are a tensor of the header's shape or a tyq::Error.
#include "fuzz_support.h"
#include "common/error.h"
#include "io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    try {
        (void)tyq::parseNpy(tyq::fuzz::asText(data, size), "fuzz.npy");
    } catch (const tyq::Error&) {
    }
    return 0;
}
