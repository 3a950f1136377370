// Dataset readers: .data files, YOLO labels, VOC XML and list files, each with the malformed
// inputs users actually produce, checking that the message names the file and line.
#include "data/dataset.h"
#include "data/image_io.h"

#include "common/error.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <fstream>

#include <cstdlib>
#include <string>
#include <unistd.h>

namespace tyq {
namespace {

using test::TempDir;
using test::writeText;
namespace fs = std::filesystem;

using test::errorOf;


// Runs a block with the current folder changed, restoring it afterwards.
class ChangeDir {
public:
    explicit ChangeDir(const fs::path& dir) : old_(fs::current_path()) { fs::current_path(dir); }
    ~ChangeDir() { fs::current_path(old_); }

private:
    fs::path old_;
};

TEST(DataConfig, ReadsKeysAndResolvesBesideTheFile)
{
    TempDir dir;
    writeText(dir / "d/dac.names", test::dacNamesText());
    writeText(dir / "d/dac.data", "# comment\nclasses = 12\ntrain=train.txt\n valid =  lists/val.txt \n"
                                  "names=dac.names\nbackup=backup/\neval=dac\n");
    const DataConfig c = loadDataConfig(dir / "d/dac.data");
    EXPECT_EQ(c.classes, 12);
    EXPECT_EQ(c.trainList, dir / "d/train.txt");
    EXPECT_EQ(c.validList, dir / "d/lists/val.txt");
    EXPECT_EQ(c.namesFile, dir / "d/dac.names");
    ASSERT_EQ(c.classNames.size(), 12u);
    EXPECT_EQ(c.classNames[0], "boat");
    EXPECT_EQ(c.classNames[11], "whale");
}

TEST(DataConfig, FallsBackToTheCurrentFolder)
{
    TempDir dir;
    writeText(dir / "work/data/dac.names", test::dacNamesText());
    writeText(dir / "work/cfg/dac.data",
              "classes=12\ntrain=data/train.txt\nvalid=data/val.txt\nnames=data/dac.names\n");
    writeText(dir / "work/data/train.txt", "");
    ChangeDir cd(dir / "work");
    const DataConfig c = loadDataConfig(dir / "work/cfg/dac.data");
    EXPECT_EQ(c.namesFile, fs::path("data/dac.names"));
    EXPECT_EQ(c.trainList, fs::path("data/train.txt"));
    // Nothing exists anywhere: the form beside the .data file, for error messages.
    EXPECT_EQ(c.validList, dir / "work/cfg/data/val.txt");
}

TEST(DataConfig, MissingKeysAreNamed)
{
    TempDir dir;
    writeText(dir / "dac.names", test::dacNamesText());
    for (const std::string key : {"classes", "train", "valid", "names"}) {
        std::string content;
        for (const std::string line : {"classes=12", "train=t.txt", "valid=v.txt", "names=dac.names"})
            if (line.rfind(key + "=", 0) != 0)
                content += line + "\n";
        writeText(dir / "x.data", content);
        const std::string e = errorOf([&] { loadDataConfig(dir / "x.data"); });
        EXPECT_CONTAINS(e, (dir / "x.data").string());
        EXPECT_CONTAINS(e, "'" + key + "'");
    }
}

TEST(DataConfig, BadLinesAndCountsAreErrors)
{
    TempDir dir;
    writeText(dir / "dac.names", test::dacNamesText());
    writeText(dir / "a.data", "classes=12\ntrain t.txt\n");
    EXPECT_CONTAINS(errorOf([&] { loadDataConfig(dir / "a.data"); }), (dir / "a.data").string() + ":2:");

    writeText(dir / "b.data", "classes=twelve\ntrain=t\nvalid=v\nnames=dac.names\n");
    EXPECT_CONTAINS(errorOf([&] { loadDataConfig(dir / "b.data"); }), (dir / "b.data").string() + ":1:");

    writeText(dir / "c.data", "classes=10\ntrain=t\nvalid=v\nnames=dac.names\n");
    const std::string e = errorOf([&] { loadDataConfig(dir / "c.data"); });
    EXPECT_CONTAINS(e, (dir / "c.data").string());
    EXPECT_CONTAINS(e, (dir / "dac.names").string());
    EXPECT_CONTAINS(e, "12 names");

    writeText(dir / "d.data", "classes=12\ntrain=t\nvalid=v\nnames=missing.names\n");
    EXPECT_CONTAINS(errorOf([&] { loadDataConfig(dir / "d.data"); }), "names file not found");
}

TEST(ClassNames, BlankLinesIgnoredDuplicatesRejected)
{
    TempDir dir;
    writeText(dir / "a.names", "\nboat\r\n  car \n\n");
    EXPECT_EQ(loadClassNames(dir / "a.names"), (std::vector<std::string>{"boat", "car"}));
    writeText(dir / "b.names", "boat\ncar\nboat\n");
    EXPECT_CONTAINS(errorOf([&] { loadClassNames(dir / "b.names"); }), (dir / "b.names").string() + ":3:");
}

TEST(LabelPath, RewritesTheLastImagesFolder)
{
    EXPECT_EQ(yoloLabelPathFor("data/images/a.jpg"), fs::path("data/labels/a.txt"));
    EXPECT_EQ(yoloLabelPathFor("/x/images/y/images/train/b.JPEG"), fs::path("/x/images/y/labels/train/b.txt"));
    EXPECT_EQ(yoloLabelPathFor("photos/c.PNG"), fs::path("photos/c.txt"));
    EXPECT_EQ(yoloLabelPathFor("my_images/d.bmp"), fs::path("my_images/d.txt"));
    EXPECT_EQ(yoloLabelPathFor("images/e.jpg"), fs::path("labels/e.txt"));
}

TEST(YoloLabels, ReadsAndClampsTinyOvershoots)
{
    TempDir dir;
    writeText(dir / "a.txt", "0 0.5 0.5 0.2 0.4\n\n  11 0.004 0.5 0.016 0.1  \r\n");
    const auto boxes = readYoloLabels(dir / "a.txt", 12);
    ASSERT_EQ(boxes.size(), 2u);
    EXPECT_EQ(boxes[0].classId, 0);
    EXPECT_FLOAT_EQ(boxes[0].w, 0.2f);
    EXPECT_EQ(boxes[1].classId, 11);
    // 0.004 - 0.008 = -0.004 is within 1% and is clamped to 0.
    EXPECT_NEAR(boxes[1].cx - boxes[1].w / 2, 0.0, 1e-6);
    EXPECT_NEAR(boxes[1].cx + boxes[1].w / 2, 0.012, 1e-6);

    writeText(dir / "empty.txt", "\n\n");
    EXPECT_TRUE(readYoloLabels(dir / "empty.txt", 12).empty());
}

TEST(YoloLabels, EachErrorNamesFileAndLine)
{
    TempDir dir;
    const struct {
        const char* line;
        const char* problem;
    } cases[] = {
        {"12 0.5 0.5 0.1 0.1", "outside 0..11"},
        {"-1 0.5 0.5 0.1 0.1", "outside 0..11"},
        {"1.5 0.5 0.5 0.1 0.1", "not an integer"},
        {"3 0.5 abc 0.1 0.1", "not a finite number"},
        {"3 0.5 nan 0.1 0.1", "not a finite number"},
        {"3 0.5 0.5 inf 0.1", "not a finite number"},
        {"3 1.2 0.5 0.1 0.1", "outside the image"},
        {"3 0.5 -0.1 0.1 0.1", "outside the image"},
        {"3 0.95 0.5 0.2 0.1", "past the image edge"},
        {"3 0.5 0.5 0 0.1", "empty box"},
        {"3 0.5 0.5 0.1 -0.2", "empty box"},
        {"3 0.5 0.5 0.1", "expected 5 fields"},
        {"3 0.5 0.5 0.1 0.1 7", "expected 5 fields"},
    };
    for (const auto& c : cases) {
        writeText(dir / "l.txt", std::string("0 0.5 0.5 0.1 0.1\n\n") + c.line + "\n");
        const std::string e = errorOf([&] { readYoloLabels(dir / "l.txt", 12); });
        EXPECT_CONTAINS(e, (dir / "l.txt").string() + ":3: ");
        EXPECT_CONTAINS(e, c.problem);
    }
}

TEST(YoloLabels, RefusesTooManyObjects)
{
    TempDir dir;
    std::string many;
    for (int i = 0; i < 10001; ++i)
        many += "1 0.5 0.5 0.1 0.1\n";
    writeText(dir / "many.txt", many);
    EXPECT_CONTAINS(errorOf([&] { readYoloLabels(dir / "many.txt", 12); }), "more than 10000 objects");
}

TEST(VocAnnotation, WriteReadRoundTripWithinAPixel)
{
    TempDir dir;
    const std::vector<BoxLabel> boxes = {{2, 0.3f, 0.4f, 0.2f, 0.1f}, {11, 0.8f, 0.7f, 0.33f, 0.55f}};
    const std::string xml = vocAnnotationXml("000001.jpg", 640, 360, boxes, dacClassNames());
    EXPECT_CONTAINS(xml, "<filename>000001.jpg</filename>");
    EXPECT_CONTAINS(xml, "<depth>3</depth>");
    EXPECT_CONTAINS(xml, "<name>whale</name>");
    writeText(dir / "a.xml", xml);
    const auto back = readVocAnnotation(dir / "a.xml", dacClassNames());
    ASSERT_EQ(back.size(), boxes.size());
    for (size_t i = 0; i < boxes.size(); ++i) {
        EXPECT_EQ(back[i].classId, boxes[i].classId);
        EXPECT_NEAR(back[i].cx * 640, boxes[i].cx * 640, 1.0);
        EXPECT_NEAR(back[i].cy * 360, boxes[i].cy * 360, 1.0);
        EXPECT_NEAR(back[i].w * 640, boxes[i].w * 640, 1.0);
        EXPECT_NEAR(back[i].h * 360, boxes[i].h * 360, 1.0);
    }
}

TEST(VocAnnotation, ReadsFloatCoordinatesAndNoObjects)
{
    TempDir dir;
    writeText(dir / "a.xml", "<annotation><size><width>640</width><height>360</height></size>"
                             "<object><name> car </name><bndbox><xmin>10.5</xmin><ymin>20</ymin>"
                             "<xmax>74.5</xmax><ymax>56</ymax></bndbox></object></annotation>");
    const auto boxes = readVocAnnotation(dir / "a.xml", dacClassNames());
    ASSERT_EQ(boxes.size(), 1u);
    EXPECT_EQ(boxes[0].classId, 2);
    EXPECT_NEAR(boxes[0].w * 640, 64.0, 1e-3);
    EXPECT_NEAR(boxes[0].cy * 360, 38.0, 1e-3);

    writeText(dir / "none.xml", "<annotation><size><width>640</width><height>360</height></size></annotation>");
    EXPECT_TRUE(readVocAnnotation(dir / "none.xml", dacClassNames()).empty());
}

TEST(VocAnnotation, ErrorsNameTheFileAndProblem)
{
    TempDir dir;
    const std::string size = "<size><width>640</width><height>360</height></size>\n";
    auto object = [](const std::string& name, const std::string& box) {
        return "<object>\n<name>" + name + "</name>\n<bndbox>" + box + "</bndbox>\n</object>\n";
    };
    const std::string good = "<xmin>10</xmin><ymin>10</ymin><xmax>50</xmax><ymax>50</ymax>";
    const struct {
        std::string content;
        std::string problem;
    } cases[] = {
        {"<annotation>\n" + size + "<object><name>car</name>\n<bndbox><xmin>1</bndbox>", "malformed XML"},
        {"<annotation>\n" + object("car", good) + "</annotation>", "no <size>"},
        {"<annotation>\n" + size + object("submarine", good) + "</annotation>", "unknown class 'submarine'"},
        {"<annotation>\n" + size + object("submarine", good) + "</annotation>", "boat, building, car"},
        {"<annotation>\n" + size + object("car", "<xmin>600</xmin><ymin>10</ymin><xmax>660</xmax><ymax>50</ymax>") +
             "</annotation>",
         "past the image edge"},
        {"<annotation>\n" + size + object("car", "<xmin>50</xmin><ymin>10</ymin><xmax>50</xmax><ymax>50</ymax>") +
             "</annotation>",
         "empty box"},
        {"<annotation>\n" + size + object("car", "<xmin>x</xmin><ymin>10</ymin><xmax>50</xmax><ymax>50</ymax>") +
             "</annotation>",
         "not a number"},
        {"<annotation>\n" + size + object("car", "<xmin>1</xmin><ymin>10</ymin><xmax>50</xmax>") + "</annotation>",
         "no <ymax>"},
        {"<notes/>", "no <annotation>"},
    };
    for (const auto& c : cases) {
        writeText(dir / "bad.xml", c.content);
        const std::string e = errorOf([&] { readVocAnnotation(dir / "bad.xml", dacClassNames()); });
        EXPECT_CONTAINS(e, (dir / "bad.xml").string());
        EXPECT_CONTAINS(e, c.problem);
    }
    // Errors inside the document carry its line.
    writeText(dir / "line.xml", "<annotation>\n" + size + object("submarine", good) + "</annotation>");
    EXPECT_CONTAINS(errorOf([&] { readVocAnnotation(dir / "line.xml", dacClassNames()); }),
                    (dir / "line.xml").string() + ":4:");
}

class DatasetList : public ::testing::Test {
protected:
    void SetUp() override
    {
        // Good YOLO samples, a VOC sample beside its image, one in a sibling annotations folder,
        // a negative sample, and three bad ones.
        writeText(dir / "data/images/a.jpg", "jpg");
        writeText(dir / "data/labels/a.txt", "1 0.5 0.5 0.2 0.2\n");
        writeText(dir / "data/images/b.png", "png");
        writeText(dir / "data/labels/b.txt", "0 0.5 0.5 0.2 0.2\n2 0.3 0.3 0.1 0.1\n");
        writeText(dir / "data/images/neg.jpg", "jpg");
        writeText(dir / "data/labels/neg.txt", "");
        writeText(dir / "voc/boat1/0001.jpg", "jpg");
        writeText(dir / "voc/boat1/0001.xml", vocAnnotationXml("0001.jpg", 640, 360, {{0, 0.5f, 0.5f, 0.2f, 0.2f}},
                                                                dacClassNames()));
        writeText(dir / "voc2/JPEGImages/0002.jpg", "jpg");
        writeText(dir / "voc2/annotations/0002.xml",
                  vocAnnotationXml("0002.jpg", 640, 360, {{11, 0.5f, 0.5f, 0.2f, 0.2f}}, dacClassNames()));
        writeText(dir / "data/images/bad.jpg", "jpg");
        writeText(dir / "data/labels/bad.txt", "0 0.5 0.5 0.2 0.2\n12 0.5 0.5 0.2 0.2\n");
        writeText(dir / "data/images/nolabel.jpg", "jpg");
        writeText(dir / "data/list.txt", "# training images\n"
                                         "images/a.jpg\n"
                                         "\n"
                                         "  " + (dir / "data/images/b.png").string() + "  \n"
                                         "images/missing.jpg\n"
                                         "images/bad.jpg\n"
                                         "images/nolabel.jpg\n"
                                         "images/neg.jpg\n"
                                         "../voc/boat1/0001.jpg\n"
                                         "../voc2/JPEGImages/0002.jpg\n");
        options.classNames = dacClassNames();
    }
    TempDir dir;
    DatasetLoadOptions options;
};

TEST_F(DatasetList, NonStrictSkipsAndCountsBadSamples)
{
    const LoadedDataset d = loadDatasetList(dir / "data/list.txt", options);
    ASSERT_EQ(d.samples.size(), 5u);
    EXPECT_EQ(d.skipped, 3);
    ASSERT_EQ(d.problems.size(), 3u);
    const std::string list = (dir / "data/list.txt").string();
    EXPECT_CONTAINS(d.problems[0], list + ":5: image not found");
    EXPECT_CONTAINS(d.problems[1], (dir / "data/labels/bad.txt").string() + ":2: class 12");
    EXPECT_CONTAINS(d.problems[2], list + ":7: no label file");

    EXPECT_EQ(d.samples[0].image, dir / "data/images/a.jpg");
    EXPECT_EQ(d.samples[0].labelFile, dir / "data/labels/a.txt");
    ASSERT_EQ(d.samples[0].labels.size(), 1u);
    EXPECT_EQ(d.samples[0].labels[0].classId, 1);
    EXPECT_EQ(d.samples[1].labels.size(), 2u);
    EXPECT_TRUE(d.samples[2].labels.empty()); // negative sample
    EXPECT_EQ(d.samples[3].labelFile, dir / "voc/boat1/0001.xml");
    EXPECT_EQ(d.samples[3].labels.at(0).classId, 0);
    EXPECT_EQ(d.samples[4].labelFile, dir / "voc2/annotations/0002.xml");
    EXPECT_EQ(d.samples[4].labels.at(0).classId, 11);
}

TEST_F(DatasetList, StrictThrowsTheFirstProblem)
{
    options.strict = true;
    const std::string e = errorOf([&] { loadDatasetList(dir / "data/list.txt", options); });
    EXPECT_CONTAINS(e, (dir / "data/list.txt").string() + ":5: image not found");
}

TEST_F(DatasetList, ImagesNeedNotExistWhenUnchecked)
{
    options.checkImagesExist = false;
    const LoadedDataset d = loadDatasetList(dir / "data/list.txt", options);
    EXPECT_EQ(d.samples.size(), 5u);
    EXPECT_EQ(d.skipped, 3); // missing.jpg now fails for its missing label instead
}

TEST_F(DatasetList, VocNeedsClassNames)
{
    options.classNames.clear();
    const LoadedDataset d = loadDatasetList(dir / "data/list.txt", options);
    EXPECT_EQ(d.samples.size(), 3u);
    EXPECT_EQ(d.skipped, 5);
}

TEST_F(DatasetList, RelativePathsFallBackToTheCurrentFolder)
{
    writeText(dir / "lists/cwd.txt", "data/images/a.jpg\n");
    ChangeDir cd(dir.path());
    const LoadedDataset d = loadDatasetList(dir / "lists/cwd.txt", options);
    ASSERT_EQ(d.samples.size(), 1u);
    EXPECT_EQ(d.samples[0].image, fs::path("data/images/a.jpg"));
    EXPECT_EQ(d.samples[0].labels.size(), 1u);
}

TEST(DatasetListErrors, UnreadableListAndClassMismatch)
{
    TempDir dir;
    DatasetLoadOptions options;
    EXPECT_CONTAINS(errorOf([&] { loadDatasetList(dir / "nope.txt", options); }), (dir / "nope.txt").string());
    writeText(dir / "l.txt", "");
    options.classNames = {"a", "b"};
    EXPECT_CONTAINS(errorOf([&] { loadDatasetList(dir / "l.txt", options); }), "2 class names given for 12 classes");
    options.classNames.clear();
    EXPECT_TRUE(loadDatasetList(dir / "l.txt", options).samples.empty());
}

TEST(DacClassNames, AreTheContestsTwelve)
{
    const auto& n = dacClassNames();
    ASSERT_EQ(n.size(), 12u);
    EXPECT_EQ(n[0], "boat");
    EXPECT_EQ(n[6], "paraglider");
    EXPECT_EQ(n[11], "whale");
}

} // namespace
} // namespace tyq

namespace tyq {
namespace {

// A 50-byte BMP whose header claims 900 million pixels (found by fuzz_image): refused with the
// file named, before OpenCV allocates the 2.7 GB it claims.
TEST(ImageLoading, HeaderClaimingHugeSizeIsRefusedBeforeAllocating)
{
    const std::filesystem::path bmp =
        std::filesystem::path(TYQ_SOURCE_DIR) / "tests/data/fuzz_regressions/image/bmp_header_claims_900M_pixels.bmp";
    try {
        loadImageRgb(bmp);
        FAIL() << "the image was decoded";
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("bmp_header_claims_900M_pixels.bmp"), std::string::npos) << message;
        EXPECT_NE(message.find("claims 34096 x 26481 pixels"), std::string::npos) << message;
    }
}

TEST(ImageLoading, PngAndJpegHeadersAreCheckedToo)
{
    test::TempDir dir;
    // PNG: signature, then the IHDR chunk (length 13, "IHDR", width, height big-endian).
    const std::string png = std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16) + std::string("\0\x01\x86\xa0\0\x01\x86\xa0", 8);
    std::ofstream(dir / "huge.png", std::ios::binary) << png;
    // JPEG: SOI, an APP0 segment to skip, then SOF0 (precision, height, width).
    const std::string jpeg = std::string("\xff\xd8\xff\xe0\0\x04\0\0\xff\xc0\0\x11\x08\xea\x60\xea\x60", 17);
    std::ofstream(dir / "huge.jpg", std::ios::binary) << jpeg;
    for (const char* name : {"huge.png", "huge.jpg"}) {
        try {
            loadImageRgb(dir / name);
            FAIL() << name << " was decoded";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("pixels"), std::string::npos) << e.what();
        }
    }
}

TEST(ImageLoading, UndecodableAndMissingFilesAreNamed)
{
    test::TempDir dir;
    const std::filesystem::path text = dir / "note.jpg";
    std::ofstream(text) << "not an image";
    EXPECT_THROW(
        {
            try {
                loadImageRgb(text);
            } catch (const Error& e) {
                EXPECT_NE(std::string(e.what()).find("note.jpg"), std::string::npos) << e.what();
                EXPECT_NE(std::string(e.what()).find("cannot decode"), std::string::npos) << e.what();
                throw;
            }
        },
        Error);
    EXPECT_THROW(loadImageRgb(dir / "missing.png"), Error);
}

} // namespace
} // namespace tyq
