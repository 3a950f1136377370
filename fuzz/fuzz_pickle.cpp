// The pickle machine alone (archives' CRCs would stop most mutations of the pickle inside a
// zip): any bytes run to a value or a tyq::Error. Storages are zero-filled, at most 64 Ki
// elements, as the archive reader bounds them by the bytes it holds.
#include "fuzz_support.h"
#include "common/error.h"
#include "io/checkpoint.h"
#include "io/pickle_reader.h"
#include "io/state_dict.h"

#include <ATen/ATen.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    auto loadStorage = [](const tyq::StorageRef& ref) {
        if (ref.numel > (int64_t(1) << 16))
            throw tyq::Error("fuzz: storage too large for the fuzzer's archive");
        return at::zeros({ref.numel}, at::TensorOptions().dtype(tyq::storageScalarType(ref.typeName)));
    };
    try {
        const tyq::PickleRef root = tyq::readPickle(tyq::fuzz::asText(data, size), loadStorage, "fuzz.pkl");
        (void)tyq::stateDictFromPickle(*root);
        if (tyq::isTyqCheckpoint(*root))
            (void)tyq::checkpointFromPickle(*root, "fuzz.pkl");
    } catch (const tyq::Error&) {
    }
    return 0;
}
