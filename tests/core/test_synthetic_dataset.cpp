// The synthetic dataset: a small set must decode, load through the ordinary readers without a
// single problem, cover all classes, respect the box bounds, and be byte-identical per seed.
#include "data/synthetic_dataset.h"

#include "common/error.h"
#include "common/text.h"
#include "data/dataset.h"
#include "test_support.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <map>
#include <set>
#include <thread>

namespace tyq {
namespace {

using test::TempDir;
namespace fs = std::filesystem;

SyntheticDatasetOptions smallSet(const fs::path& out, uint64_t seed = 7)
{
    SyntheticDatasetOptions o;
    o.outDir = out;
    o.trainCount = 24;
    o.valCount = 12;
    o.seed = seed;
    return o;
}

// Every regular file under `dir`, relative path -> content.
std::map<std::string, std::string> snapshot(const fs::path& dir)
{
    std::map<std::string, std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(dir))
        if (entry.is_regular_file())
            files[fs::relative(entry.path(), dir).string()] = text::readFile(entry.path().string());
    return files;
}

TEST(SyntheticDataset, SmallSetLoadsCleanly)
{
    TempDir dir;
    const SyntheticDatasetOptions o = smallSet(dir / "set");
    std::vector<int> seen;
    const std::thread::id caller = std::this_thread::get_id();
    const SyntheticDatasetResult r = generateSyntheticDataset(o, [&](int done, int total) {
        EXPECT_EQ(std::this_thread::get_id(), caller);
        EXPECT_EQ(total, 36);
        seen.push_back(done);
        return true;
    });
    ASSERT_EQ(seen.size(), 36u);
    for (int i = 0; i < 36; ++i)
        EXPECT_EQ(seen[i], i + 1);
    EXPECT_EQ(r.trainCount, 24);
    EXPECT_EQ(r.valCount, 12);
    EXPECT_EQ(r.dataFile, dir / "set/dac.data");

    const DataConfig config = loadDataConfig(r.dataFile);
    EXPECT_EQ(config.classes, 12);
    EXPECT_EQ(config.classNames, dacClassNames());

    DatasetLoadOptions load;
    load.classNames = config.classNames;
    load.strict = true;
    for (const auto& [list, count] : {std::pair{config.trainList, 24}, std::pair{config.validList, 12}}) {
        const LoadedDataset d = loadDatasetList(list, load);
        EXPECT_TRUE(d.problems.empty());
        ASSERT_EQ(static_cast<int>(d.samples.size()), count);
        std::set<int> classes;
        for (const Sample& s : d.samples) {
            EXPECT_EQ(s.labelFile.extension(), ".txt");
            const cv::Mat image = cv::imread(s.image.string(), cv::IMREAD_COLOR);
            ASSERT_FALSE(image.empty()) << s.image;
            EXPECT_EQ(image.cols, 640);
            EXPECT_EQ(image.rows, 360);
            ASSERT_EQ(s.labels.size(), 1u) << s.labelFile;
            const BoxLabel& b = s.labels[0];
            classes.insert(b.classId);
            const double area = double(b.w) * b.h;
            EXPECT_GE(area, o.minAreaFraction * (1 - 1e-4)) << s.labelFile;
            EXPECT_LE(area, o.maxAreaFraction * (1 + 1e-4)) << s.labelFile;
            EXPECT_GE(b.cx - b.w / 2, -1e-6);
            EXPECT_LE(b.cx + b.w / 2, 1 + 1e-6);
            EXPECT_GE(b.cy - b.h / 2, -1e-6);
            EXPECT_LE(b.cy + b.h / 2, 1 + 1e-6);

            // The VOC annotation says the same within a pixel.
            const fs::path xml = dir / "set/annotations" / s.image.parent_path().filename() /
                                 (s.image.stem().string() + ".xml");
            const auto voc = readVocAnnotation(xml, dacClassNames());
            ASSERT_EQ(voc.size(), 1u);
            EXPECT_EQ(voc[0].classId, b.classId);
            EXPECT_NEAR(voc[0].cx * 640, b.cx * 640, 1.0);
            EXPECT_NEAR(voc[0].w * 640, b.w * 640, 1.0);
            EXPECT_NEAR(voc[0].cy * 360, b.cy * 360, 1.0);
            EXPECT_NEAR(voc[0].h * 360, b.h * 360, 1.0);
        }
        if (count == 24) { // balanced: each class exactly twice
            EXPECT_EQ(classes.size(), 12u);
        }
    }
}

TEST(SyntheticDataset, VocAnnotationsAreFoundWithoutYoloLabels)
{
    TempDir dir;
    SyntheticDatasetOptions o = smallSet(dir / "set");
    o.trainCount = 4;
    o.valCount = 0;
    generateSyntheticDataset(o);
    fs::remove_all(dir / "set/labels");
    DatasetLoadOptions load;
    load.classNames = dacClassNames();
    const LoadedDataset d = loadDatasetList(dir / "set/train.txt", load);
    EXPECT_TRUE(d.problems.empty());
    ASSERT_EQ(d.samples.size(), 4u);
    EXPECT_EQ(d.samples[0].labelFile.extension(), ".xml");
}

TEST(SyntheticDataset, SameSeedSameBytesOtherSeedDiffers)
{
    TempDir dir;
    generateSyntheticDataset(smallSet(dir / "a", 3));
    generateSyntheticDataset(smallSet(dir / "b", 3));
    generateSyntheticDataset(smallSet(dir / "c", 4));
    const auto a = snapshot(dir / "a"), b = snapshot(dir / "b"), c = snapshot(dir / "c");
    EXPECT_EQ(a.size(), 24u * 3 + 12 * 3 + 4);
    EXPECT_TRUE(a == b);
    ASSERT_EQ(a.size(), c.size());
    int differing = 0;
    for (const auto& [name, content] : a)
        differing += name.find("images/") == 0 && c.at(name) != content;
    EXPECT_EQ(differing, 36);
}

TEST(SyntheticDataset, ProgressReturningFalseCancels)
{
    TempDir dir;
    SyntheticDatasetOptions o = smallSet(dir / "set");
    o.trainCount = 200;
    int calls = 0;
    const SyntheticDatasetResult r = generateSyntheticDataset(o, [&](int done, int) {
        ++calls;
        return done < 3;
    });
    EXPECT_EQ(calls, 3);
    EXPECT_TRUE(r.dataFile.empty());
    EXPECT_FALSE(fs::exists(dir / "set/dac.data"));
    EXPECT_FALSE(fs::exists(dir / "set/train.txt"));
    // Prompt: far from all 212 images were drawn (the bound leaves room for a busy machine).
    EXPECT_GE(r.trainCount + r.valCount, 3);
    EXPECT_LT(r.trainCount + r.valCount, 60);
}

TEST(SyntheticDataset, RejectsBadOptions)
{
    TempDir dir;
    SyntheticDatasetOptions o = smallSet(dir / "set");
    o.minAreaFraction = 0.2;
    o.maxAreaFraction = 0.1;
    EXPECT_THROW(generateSyntheticDataset(o), Error);
    o = smallSet({});
    EXPECT_THROW(generateSyntheticDataset(o), Error);
    o = smallSet(dir / "set");
    o.jpegQuality = 0;
    EXPECT_THROW(generateSyntheticDataset(o), Error);
}

} // namespace
} // namespace tyq
