// Inputs the fuzzers (fuzz/, scripts/fuzz.sh) found or that guard their fixes, replayed
// through the same readers: tests/data/fuzz_regressions/<target>/<file>. Each must end in a
// value or a tyq::Error naming the source, never a crash, a hang or another exception type.
#include "test_support.h"

#include "common/error.h"
#include "data/dataset.h"
#include "data/image_io.h"
#include "io/checkpoint.h"
#include "io/npy.h"
#include "io/pickle_reader.h"
#include "io/state_dict.h"
#include "io/zip_reader.h"
#include "model/darknet_cfg.h"
#include "quant/quant_config.h"
#include "train/experiment.h"
#include "train/train_options.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>

namespace tyq {
namespace {

namespace fs = std::filesystem;

// What each fuzz target does with its input (see fuzz/fuzz_<target>.cpp), from a file.
const std::map<std::string, std::function<void(const fs::path&, const std::string&)>>& readers()
{
    static const std::map<std::string, std::function<void(const fs::path&, const std::string&)>> table = {
        {"darknet_cfg", [](const fs::path& p, const std::string& b) { parseDarknetCfgText(b, p.string()); }},
        {"quant_config",
         [](const fs::path& p, const std::string& b) {
             // Saved excepts are complete (the reference needs them): the same bits, layer by layer.
             const QuantConfig c = parseQuantConfigYaml(b, p.string());
             const QuantConfig again = parseQuantConfigYaml(quantConfigToYaml(c), "round trip");
             EXPECT_TRUE(again.defaults == c.defaults);
             for (const auto& [name, o] : c.excepts)
                 EXPECT_TRUE(again.forModule(name) == c.forModule(name)) << name;
         }},
        {"train_options",
         [](const fs::path& p, const std::string& b) {
             TrainingSources sources;
             const TrainOptions o = parseTrainOptionsYaml(b, p.string(), &sources);
             EXPECT_EQ(trainOptionsToYaml(parseTrainOptionsYaml(trainOptionsToYaml(o), "round trip")),
                       trainOptionsToYaml(o));
         }},
        {"experiment", [](const fs::path& p, const std::string& b) { parseExperimentYaml(b, p); }},
        {"data_files",
         [](const fs::path& p, const std::string&) {
             try {
                 loadDataConfig(p);
             } catch (const Error&) {
             }
             DatasetLoadOptions o;
             o.classNames = dacClassNames();
             loadDatasetList(p, o);
         }},
        {"yolo_labels", [](const fs::path& p, const std::string& b) { parseYoloLabels(b, p, 12); }},
        {"voc_xml", [](const fs::path& p, const std::string& b) { parseVocAnnotation(b, p, dacClassNames()); }},
        {"torch_archive",
         [](const fs::path& p, const std::string& b) {
             const auto root = readTorchArchive(ZipArchive(b, p.string()));
             stateDictFromPickle(*root);
             if (isTyqCheckpoint(*root))
                 checkpointFromPickle(*root, p.string());
         }},
        {"pickle",
         [](const fs::path& p, const std::string& b) {
             auto load = [](const StorageRef& ref) {
                 if (ref.numel > (int64_t(1) << 16))
                     throw Error("storage too large for the test");
                 return at::zeros({ref.numel}, at::TensorOptions().dtype(storageScalarType(ref.typeName)));
             };
             const auto root = readPickle(b, load, p.string());
             stateDictFromPickle(*root);
             if (isTyqCheckpoint(*root))
                 checkpointFromPickle(*root, p.string());
         }},
        {"npy", [](const fs::path& p, const std::string& b) { parseNpy(b, p); }},
        {"image", [](const fs::path& p, const std::string&) { loadNetworkInput(p, 64, 32); }},
    };
    return table;
}

TEST(FuzzRegressions, EveryRecordedInputIsReadOrRefusedWithAMessage)
{
    const fs::path root = test::testDataDir() / "fuzz_regressions";
    ASSERT_TRUE(fs::is_directory(root)) << root;
    int replayed = 0;
    for (const auto& folder : fs::directory_iterator(root)) {
        if (!folder.is_directory())
            continue;
        const std::string target = folder.path().filename().string();
        const auto reader = readers().find(target);
        ASSERT_NE(reader, readers().end()) << "no reader for fuzz target folder " << target;
        for (const auto& file : fs::directory_iterator(folder.path())) {
            SCOPED_TRACE(file.path().string());
            const auto start = std::chrono::steady_clock::now();
            try {
                reader->second(file.path(), test::readBytes(file.path()));
            } catch (const Error& e) {
                // A refusal names what was read.
                const std::string what = e.what();
                EXPECT_TRUE(what.find(file.path().filename().string()) != std::string::npos ||
                            what.find("round trip") != std::string::npos || target == "data_files")
                    << what;
            } catch (const std::exception& e) {
                ADD_FAILURE() << "escaped as " << typeid(e).name() << ": " << e.what();
            }
            EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0)
                << "took too long";
            ++replayed;
        }
    }
    EXPECT_GT(replayed, 0);
}

} // namespace
} // namespace tyq
