// Text files as other tools write them: a UTF-8 byte-order mark first (Windows editors), CRLF
// line ends, '\' folder separators in lists, or not UTF-8 at all (UTF-16 from "Unicode" saves).
// Every text reader reads the first three as the plain file and refuses the last by name,
// instead of silently losing the first image, class name or key.
#include "test_support.h"

#include "common/csv_table.h"
#include "common/embedded_config.h"
#include "common/error.h"
#include "common/text.h"
#include "data/dataset.h"
#include "model/darknet_cfg.h"
#include "quant/quant_config.h"
#include "train/experiment.h"
#include "train/run_folder.h"
#include "train/train_options.h"

#include <gtest/gtest.h>

#include <functional>

namespace tyq {
namespace {

namespace fs = std::filesystem;
using test::errorOf;
using test::TempDir;
using test::writeText;


const std::string kBom = "\xEF\xBB\xBF";

// What a Windows editor saves: a byte-order mark and CRLF line ends.
std::string windowsText(const std::string& text)
{
    std::string out = kBom;
    for (char c : text) {
        if (c == '\n')
            out += '\r';
        out += c;
    }
    return out;
}

// The same content in UTF-16 LE with its byte-order mark ("Unicode" in Notepad).
std::string utf16Text(const std::string& ascii)
{
    std::string out = "\xFF\xFE";
    for (char c : ascii) {
        out += c;
        out += '\0';
    }
    return out;
}

// A small dataset: two images with YOLO labels and one with VOC XML, all files as `encode` writes them.
struct SmallDataset {
    explicit SmallDataset(const fs::path& root, const std::function<std::string(const std::string&)>& encode)
    {
        writeText(root / "images/v1.jpg", "jpg");
        writeText(root / "images/v2.jpg", "jpg");
        writeText(root / "images/v3.jpg", "jpg");
        writeText(root / "labels/v1.txt", encode("3 0.5 0.5 0.2 0.1\n"));
        writeText(root / "labels/v2.txt", encode("0 0.25 0.75 0.1 0.1\n"));
        writeText(root / "images/v3.xml", encode(vocAnnotationXml("v3.jpg", 640, 360, {{11, 0.5f, 0.5f, 0.2f, 0.2f}},
                                                                    dacClassNames())));
        writeText(root / "dac.names", encode(test::dacNamesText()));
        writeText(root / "train.txt", encode("images/v1.jpg\nimages/v2.jpg\nimages/v3.jpg\n"));
        writeText(root / "dac.data", encode("classes = 12\ntrain = train.txt\nvalid = train.txt\nnames = dac.names\n"));
        dataFile = root / "dac.data";
    }
    fs::path dataFile;
};

void expectSmallDatasetRead(const fs::path& dataFile)
{
    const DataConfig config = loadDataConfig(dataFile);
    ASSERT_EQ(config.classNames, dacClassNames()); // "boat", not "\ufeffboat"
    DatasetLoadOptions options;
    options.classNames = config.classNames;
    options.strict = true;
    const LoadedDataset d = loadDatasetList(config.trainList, options);
    ASSERT_EQ(d.samples.size(), 3u); // the first image is not lost to "\ufeffimages/v1.jpg"
    EXPECT_EQ(d.samples[0].image.filename(), "v1.jpg");
    ASSERT_EQ(d.samples[0].labels.size(), 1u);
    EXPECT_EQ(d.samples[0].labels[0].classId, 3); // the first label line is not lost either
    EXPECT_EQ(d.samples[1].labels.at(0).classId, 0);
    EXPECT_EQ(d.samples[2].labels.at(0).classId, 11);
}

TEST(ForeignText, ByteOrderMarkAndCrlfInEveryDatasetFile)
{
    TempDir dir;
    const SmallDataset plain(dir / "plain", [](const std::string& s) { return s; });
    const SmallDataset windows(dir / "windows", windowsText);
    expectSmallDatasetRead(plain.dataFile);
    expectSmallDatasetRead(windows.dataFile);
}

TEST(ForeignText, ByteOrderMarkInConfigsOptionsExperimentsAndRunFiles)
{
    TempDir dir;
    const std::string cfg(embeddedConfig("tiny-yolo-dac.cfg"));
    writeText(dir / "net.cfg", windowsText(cfg));
    EXPECT_EQ(loadDarknetCfg(dir / "net.cfg").layers.size(), parseDarknetCfgText(cfg, "built-in").layers.size());

    const std::string quant(embeddedConfig("lsq-3bit.yaml"));
    writeText(dir / "bits.yaml", windowsText(quant));
    EXPECT_EQ(loadQuantConfig(dir / "bits.yaml"), parseQuantConfigYaml(quant, "built-in"));

    writeText(dir / "options.yaml", windowsText("epochs: 7\nbatch_size: 4\n"));
    const TrainOptions options = loadTrainOptions(dir / "options.yaml");
    EXPECT_EQ(options.epochs, 7);
    EXPECT_EQ(options.batchSize, 4);

    Experiment e = defaultExperiment();
    e.phase = "lsq";
    writeText(dir / "a.tyqexp", windowsText(experimentToYaml(e, dir / "a.tyqexp")));
    EXPECT_EQ(loadExperiment(dir / "a.tyqexp").phase, "lsq");

    // A run's CSV opened and saved in a spreadsheet gets a byte-order mark too.
    writeText(dir / "epochs.csv", windowsText("epoch,map\n1,0.5\n2,0.75\n"));
    const CsvTable table = readCsv(dir / "epochs.csv");
    EXPECT_EQ(table.column("epoch"), 0);
    EXPECT_EQ(table.values("map"), (std::vector<double>{0.5, 0.75}));
}

TEST(ForeignText, Utf16AndNulBytesAreRefusedNamingTheFile)
{
    TempDir dir;
    writeText(dir / "list.txt", utf16Text("images/v1.jpg\n"));
    std::string e = errorOf([&] { loadDatasetList(dir / "list.txt", {}); });
    EXPECT_CONTAINS(e, (dir / "list.txt").string() + ": is UTF-16 text");
    EXPECT_CONTAINS(e, "save it as UTF-8");

    writeText(dir / "bits.yaml", utf16Text("quan_default:\n  weight: {bit: 3}\n"));
    EXPECT_CONTAINS(errorOf([&] { loadQuantConfig(dir / "bits.yaml"); }), (dir / "bits.yaml").string() + ": is UTF-16");

    writeText(dir / "net.cfg", std::string("[net]\nwidth=64\n\0\n", 19));
    EXPECT_CONTAINS(errorOf([&] { loadDarknetCfg(dir / "net.cfg"); }), (dir / "net.cfg").string() + ":3: holds a NUL byte");

    writeText(dir / "label.txt", std::string("\xFF\xFE\0\0", 4));
    EXPECT_CONTAINS(errorOf([&] { readYoloLabels(dir / "label.txt", 12); }), "is UTF-32 text");
}

TEST(ForeignText, WindowsFolderSeparatorsInListsAndDataFiles)
{
    TempDir dir;
    const SmallDataset d(dir / "set", [](const std::string& s) { return s; });
    writeText(dir / "set/lists/train.txt", "..\\images\\v1.jpg\r\n..\\images\\v2.jpg\r\n");
    writeText(dir / "set/win.data", "classes = 12\r\ntrain = lists\\train.txt\r\nvalid = lists\\train.txt\r\n"
                                    "names = dac.names\r\n");
    const DataConfig config = loadDataConfig(dir / "set/win.data");
    EXPECT_EQ(config.trainList, dir / "set/lists/train.txt");
    DatasetLoadOptions options;
    options.strict = true;
    const LoadedDataset loaded = loadDatasetList(config.trainList, options);
    ASSERT_EQ(loaded.samples.size(), 2u);
    EXPECT_EQ(loaded.samples[0].image, dir / "set/images/v1.jpg");
    EXPECT_EQ(loaded.samples[1].labels.at(0).classId, 0);

    // Where neither form exists, the message keeps the path as written.
    writeText(dir / "set/lists/bad.txt", "..\\images\\nope.jpg\n");
    EXPECT_CONTAINS(errorOf([&] { loadDatasetList(dir / "set/lists/bad.txt", options); }), "nope.jpg");
}

TEST(ForeignText, WithoutByteOrderMarkOnlyStripsALeadingMark)
{
    EXPECT_EQ(text::withoutByteOrderMark(kBom + "abc"), "abc");
    EXPECT_EQ(text::withoutByteOrderMark("abc" + kBom), "abc" + kBom);
    EXPECT_EQ(text::withoutByteOrderMark("\xEF\xBB"), "\xEF\xBB");
    EXPECT_EQ(text::withoutByteOrderMark(""), "");
}

} // namespace
} // namespace tyq
