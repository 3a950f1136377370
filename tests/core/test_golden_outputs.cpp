// tyq against the reference system's own outputs (golden/seed_outputs): the decoded yolo rows
// of two photos through the published fp and 3-bit LSQ checkpoints, with the reference's
// preprocessing (PIL's nearest resize).
#include "test_support.h"

#include "data/image_io.h"
#include "infer/detector.h"
#include "io/npy.h"
#include "model/model_loader.h"

#include <torch/torch.h>

#include <opencv2/imgproc.hpp>

#include <gtest/gtest.h>

namespace tyq {
namespace {

namespace fs = std::filesystem;

fs::path goldenDir() { return test::referenceDir() / "golden" / "seed_outputs"; }

struct Comparison {
    double maxAbs = 0;
    double fractionWithin = 0; ///< entries within the tolerance
};

Comparison compare(const at::Tensor& got, const at::Tensor& expected, double tolerance)
{
    const at::Tensor diff = (got.to(at::kDouble) - expected.to(at::kDouble)).abs();
    return {diff.max().item<double>(), (diff <= tolerance).to(at::kDouble).mean().item<double>()};
}

at::Tensor decodedRows(const LoadedModel& model, const fs::path& image)
{
    Detector detector(model.network);
    DetectionOptions options;
    options.keepDecoded = true;
    const ImageDetections result = detector.run(image, options);
    return result.decoded;
}

TEST(GoldenOutputs, FullPrecisionMatchesTheReferenceToFloatRounding)
{
    TYQ_REQUIRE_REFERENCE();
    const LoadedModel model = loadModel({"", "", test::referenceDir() / "seed" / "fp_ckpt_94.pth"});
    for (const char* name : {"fruits", "baboon"}) {
        const at::Tensor got = decodedRows(model, goldenDir() / (std::string(name) + ".jpg"));
        const at::Tensor expected = readNpy(goldenDir() / "fp" / (std::string(name) + ".npy"));
        ASSERT_EQ(expected.sizes(), at::IntArrayRef({1728, 17})) << name;
        ASSERT_EQ(got.sizes(), expected.sizes()) << name;
        const Comparison c = compare(got, expected, 1e-3);
        EXPECT_EQ(c.fractionWithin, 1.0) << name << ": largest difference " << c.maxAbs;
        std::cout << "  fp " << name << ": largest difference " << c.maxAbs << "\n";
    }
}

TEST(GoldenOutputs, LsqMatchesTheReferenceAlmostEverywhere)
{
    TYQ_REQUIRE_REFERENCE();
    // One ulp can flip a rounding decision of the quantizer and move everything downstream of
    // it, so a few entries may differ (golden/seed_outputs/README.md); most must be equal.
    const LoadedModel model = loadModel({"", fs::path(TYQ_SOURCE_DIR) / "config" / "lsq-3bit.yaml",
                                         test::referenceDir() / "seed" / "lsq_ckpt_92.pth"});
    ASSERT_TRUE(model.network->quantized());
    for (const char* name : {"fruits", "baboon"}) {
        const at::Tensor got = decodedRows(model, goldenDir() / (std::string(name) + ".jpg"));
        const at::Tensor expected = readNpy(goldenDir() / "lsq" / (std::string(name) + ".npy"));
        ASSERT_EQ(got.sizes(), expected.sizes()) << name;
        const Comparison c = compare(got, expected, 1e-3);
        std::cout << "  lsq " << name << ": " << 100 * c.fractionWithin << " % of entries within 1e-3 (largest difference "
                  << c.maxAbs << ")\n";
        EXPECT_GE(c.fractionWithin, 0.99) << name << ": only " << 100 * c.fractionWithin << " % within 1e-3";
    }
}

TEST(GoldenOutputs, LsqOutputsDifferFromFullPrecision)
{
    // Guards the comparison above: 3-bit outputs are not just the fp ones.
    TYQ_REQUIRE_REFERENCE();
    const at::Tensor fp = readNpy(goldenDir() / "fp" / "fruits.npy");
    const at::Tensor lsq = readNpy(goldenDir() / "lsq" / "fruits.npy");
    EXPECT_LT(compare(lsq, fp, 1e-3).fractionWithin, 0.9);
}

// PIL's NEAREST, written out from its description: per axis, scale = src / dst in double,
// start half a step in, truncate.
std::vector<int> pilRule(int src, int dst)
{
    std::vector<int> out;
    const double scale = static_cast<double>(src) / static_cast<double>(dst);
    double pos = scale * 0.5;
    for (int i = 0; i < dst; ++i) {
        out.push_back(static_cast<int>(pos));
        pos += scale;
    }
    return out;
}

// What cv::resize picks: resize a row whose pixel values are their own indices.
std::vector<int> openCvIndices(int src, int dst, int interpolation)
{
    cv::Mat row(1, src, CV_16UC1);
    for (int i = 0; i < src; ++i)
        row.at<uint16_t>(0, i) = static_cast<uint16_t>(i);
    cv::Mat out;
    cv::resize(row, out, cv::Size(dst, 1), 0, 0, interpolation);
    std::vector<int> indices;
    for (int i = 0; i < dst; ++i)
        indices.push_back(out.at<uint16_t>(0, i));
    return indices;
}

TEST(GoldenOutputs, NearestResizeFollowsPilNotOpenCv)
{
    for (const auto& [src, dst] : {std::pair{512, 288}, std::pair{512, 512}, std::pair{640, 512}, std::pair{360, 288},
                                   std::pair{100, 288}, std::pair{7, 3}}) {
        const std::vector<int> tyq = pilNearestIndices(src, dst);
        EXPECT_EQ(tyq, pilRule(src, dst)) << src << " -> " << dst;
        for (int i : tyq) {
            ASSERT_GE(i, 0);
            ASSERT_LT(i, src);
        }
    }
    // 512 -> 288 (baboon.jpg's rows): OpenCV's INTER_NEAREST takes floor(i * scale) without the
    // half-step, so it picks other rows (from i = 1: PIL 2, OpenCV 1). Using it would change
    // the network input and the outputs.
    const std::vector<int> pil = pilNearestIndices(512, 288);
    const std::vector<int> cvNearest = openCvIndices(512, 288, cv::INTER_NEAREST);
    int differing = 0;
    for (size_t i = 0; i < pil.size(); ++i)
        differing += pil[i] != cvNearest[i];
    EXPECT_GT(differing, 0);
    EXPECT_EQ(pil[1], 2);
    EXPECT_EQ(cvNearest[1], 1);
    std::cout << "  512 -> 288: OpenCV INTER_NEAREST differs from PIL at " << differing << " of 288 indices\n";
}

} // namespace
} // namespace tyq
