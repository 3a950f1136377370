// Reference .pth files, tyq exports and tyq checkpoints as tyq reads them: the zip container
// (ZipArchive on bytes), the pickle inside, then the state dict and checkpoint views of it.
#include "fuzz_support.h"
#include "common/error.h"
#include "io/checkpoint.h"
#include "io/pickle_reader.h"
#include "io/state_dict.h"
#include "io/zip_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    try {
        const tyq::ZipArchive zip(std::string(tyq::fuzz::asText(data, size)), "fuzz.pth");
        const std::shared_ptr<tyq::PickleValue> root = tyq::readTorchArchive(zip);
        (void)tyq::stateDictFromPickle(*root);
        if (tyq::isTyqCheckpoint(*root))
            (void)tyq::checkpointFromPickle(*root, "fuzz.pth");
    } catch (const tyq::Error&) {
    }
    return 0;
}
