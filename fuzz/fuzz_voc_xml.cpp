// The Pascal-VOC XML reader: any bytes are a list of boxes inside the image or a tyq::Error.
#include "fuzz_support.h"
#include "common/error.h"
#include "data/dataset.h"

#include <cmath>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    try {
        for (const tyq::BoxLabel& b :
             tyq::parseVocAnnotation(tyq::fuzz::asText(data, size), "fuzz.xml", tyq::dacClassNames())) {
            if (b.classId < 0 || b.classId >= 12 || !(b.w > 0) || !(b.h > 0) || !(b.cx >= 0 && b.cx <= 1) ||
                !(b.cy >= 0 && b.cy <= 1) || !std::isfinite(b.w) || !std::isfinite(b.h))
                std::abort();
        }
    } catch (const tyq::Error&) {
    }
    return 0;
}
