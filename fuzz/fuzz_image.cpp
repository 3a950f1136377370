// tyq's image loading path (loadNetworkInput: OpenCV's decoders, then the PIL-exact resize and
// the tensor conversion) on bytes written to a file. Findings inside OpenCV's own decoders are
// third-party and reported, not fixed here.
#include "fuzz_support.h"
#include "common/error.h"
#include "data/image_io.h"

#include <ATen/ATen.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::filesystem::path path = tyq::fuzz::writeScratch("image", tyq::fuzz::asText(data, size));
    try {
        cv::Size original;
        const at::Tensor input = tyq::loadNetworkInput(path, 64, 32, &original);
        if (input.size(0) != 3 || input.size(1) != 32 || input.size(2) != 64)
            std::abort();
    } catch (const tyq::Error&) {
    }
    return 0;
}
