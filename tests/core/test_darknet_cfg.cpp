#include "test_support.h"

#include "common/error.h"
#include "model/darknet_cfg.h"
#include "model/network_summary.h"

#include <gtest/gtest.h>

namespace tyq {
namespace {

std::string expectError(const std::string& cfg)
{
    try {
        parseDarknetCfgText(cfg, "bad.cfg");
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "no error for:\n" << cfg;
    return {};
}

const char* kTiny = R"([net]
width=64
height=32
channels=3

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
filters=21
size=1
pad=1
activation=linear

[yolo]
mask=0,1,2
anchors=10,14, 23,27, 37,58, 81,82
classes=2
)";

TEST(DarknetCfg, ParsesEveryLayerTypeOfTheDefaultNetwork)
{
    const NetworkSpec spec = defaultNetworkSpec();
    EXPECT_EQ(spec.width, 512);
    EXPECT_EQ(spec.height, 288);
    ASSERT_EQ(spec.layers.size(), 24u);
    EXPECT_EQ(spec.convIndices(), (std::vector<int>{0, 2, 4, 6, 8, 10, 13, 18, 21, 22}));
    EXPECT_EQ(spec.yoloIndices(), std::vector<int>{23});
    EXPECT_EQ(spec.numClasses(), 12);
    EXPECT_EQ(spec.requiredInputMultiple(), 32);

    const ConvSpec& c0 = spec.layers[0].conv();
    EXPECT_EQ(c0.filters, 16);
    EXPECT_EQ(c0.padding, 1);
    EXPECT_TRUE(c0.batchNormalize);
    EXPECT_EQ(c0.activation, Activation::linear);
    EXPECT_EQ(spec.layers[21].conv().activation, Activation::relu);
    EXPECT_EQ(spec.layers[13].conv().padding, 0); // 1x1 with pad=1 pads nothing
    EXPECT_FALSE(spec.layers[22].conv().batchNormalize);
    EXPECT_EQ(std::get<RouteSpec>(spec.layers[17].params).layers, std::vector<int>{13});
    EXPECT_EQ(std::get<RouteSpec>(spec.layers[19].params).layers, (std::vector<int>{18, 9}));
    EXPECT_EQ(std::get<UpsampleSpec>(spec.layers[20].params).stride, 2);
    const YoloSpec& yolo = spec.layers[23].yolo();
    ASSERT_EQ(yolo.anchors.size(), 3u);
    EXPECT_FLOAT_EQ(yolo.anchors[2].width, 37);
    EXPECT_FLOAT_EQ(yolo.anchors[2].height, 58);
    EXPECT_FLOAT_EQ(yolo.ignoreThreshold, 0.5f);
}

TEST(DarknetCfg, ReadsTheReferenceCfgWithItsNoise)
{
    TYQ_REQUIRE_REFERENCE();
    const NetworkSpec spec = loadDarknetCfg(test::referenceDir() / "seed" / "yolov3-tiny.cfg");
    EXPECT_EQ(spec.layers.size(), 24u);
    EXPECT_EQ(spec.layers[0].conv().activation, Activation::leaky);
    EXPECT_EQ(spec.layers[23].yolo().anchors.size(), 3u); // mask 0,1,2 of 6 anchors
}

TEST(DarknetCfg, MaskSelectsAnchorsAndShortcutResolves)
{
    const NetworkSpec spec = parseDarknetCfgText(kTiny, "tiny.cfg");
    EXPECT_EQ(spec.layers[0].conv().activation, Activation::leaky);
    EXPECT_EQ(spec.layers[3].yolo().anchors.size(), 3u);
    EXPECT_EQ(spec.requiredInputMultiple(), 2);

    const NetworkSpec withShortcut = parseDarknetCfgText(R"([net]
[convolutional]
filters=4
size=3
pad=1
[convolutional]
filters=4
size=3
pad=1
[shortcut]
from=-2
activation=linear
[convolutional]
filters=7
size=1
[yolo]
anchors=1,1
classes=2
)", "sc.cfg");
    EXPECT_EQ(std::get<ShortcutSpec>(withShortcut.layers[2].params).from, 0);
}

TEST(DarknetCfg, ErrorsNameFileLineAndProblem)
{
    EXPECT_NE(expectError("[convolutional]\nfilters=3\n").find("bad.cfg:1: the first section must be [net]"),
              std::string::npos);
    EXPECT_NE(expectError("[net]\n[convolutional]\nfilter=16\n").find("bad.cfg:3: unknown key 'filter'"),
              std::string::npos);
    EXPECT_NE(expectError("[net]\n[convolutional]\nfilters=abc\n").find("bad.cfg:3:"), std::string::npos);
    EXPECT_NE(expectError("[net]\n[convolutional]\nsize=3\n").find("missing required key 'filters'"), std::string::npos);
    EXPECT_NE(expectError("[net]\n[convolutional]\nfilters=4\nactivation=swish\n").find("unknown activation 'swish'"),
              std::string::npos);
    EXPECT_NE(expectError("[net]\n[route]\nlayers=-1\n").find("not an earlier layer"), std::string::npos);
    EXPECT_NE(expectError("[net]\n[convolutional]\nfilters=4\n[route]\nlayers=5\n").find("bad.cfg:5:"),
              std::string::npos);
    EXPECT_NE(expectError("[net]\n[conv]\n").find("unknown section [conv]"), std::string::npos);
    EXPECT_NE(expectError("[net]\n[convolutional]\nfilters=4\n").find("no [yolo] layer"), std::string::npos);
    EXPECT_NE(expectError("[net]\n[convolutional]\nfilters=4\n[yolo]\nanchors=1,1\nclasses=2\n")
                  .find("expects 7 input channels"),
              std::string::npos);
    EXPECT_NE(expectError("[net]\nwidth=16\n").find("outside 32..8192"), std::string::npos);
    EXPECT_NE(expectError("[net]\n[maxpool]\nsize=3\nstride=2\n").find("not supported"), std::string::npos);
    EXPECT_NE(expectError("[net\n").find("closing ']'"), std::string::npos);
    EXPECT_NE(expectError("[net]\nwidth\n").find("bad.cfg:2: expected 'key=value'"), std::string::npos);
}

TEST(DarknetCfg, MissingFileIsReported)
{
    try {
        loadDarknetCfg("/nonexistent/net.cfg");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/net.cfg"), std::string::npos);
    }
}

TEST(NetworkSummary, DefaultNetworkTotals)
{
    const NetworkSpec spec = defaultNetworkSpec();
    const NetworkSummary fp = summarizeNetwork(spec);
    // Shapes: 512x288 in, stride-16 head 18x32 with 51 channels.
    EXPECT_EQ(fp.layers[0].output.str(), "16x288x512");
    EXPECT_EQ(fp.layers[9].output.str(), "128x9x16");
    EXPECT_EQ(fp.layers[19].output.str(), "256x9x16");
    EXPECT_EQ(fp.layers[22].output.str(), "51x18x32");
    // Parameters: conv weights + BN affine (or bias), summed by hand from the layer table.
    const int64_t expected = (432 + 32) + (4608 + 64) + (18432 + 128) + (73728 + 256) + (147456 + 256) +
                             (221184 + 384) + (49152 + 512) + (32768 + 256) + (442368 + 384) + (9792 + 51);
    EXPECT_EQ(fp.parameters, expected);
    // MACs of conv0: 16*3*9 weights at every one of 288*512 positions.
    EXPECT_EQ(fp.layers[0].macs, int64_t(432) * 288 * 512);
    EXPECT_NEAR(fp.macs / 1e9, 0.96, 0.01); // ~1.92 GFLOP per image
    EXPECT_EQ(fp.sizeBitsQuantized, fp.sizeBitsFp32);

    const QuantConfig quant = defaultQuantConfig();
    const NetworkSummary q = summarizeNetwork(spec, &quant);
    EXPECT_EQ(q.layers[0].weightBits, 3);
    // conv 0 does not quantize its input: it reads the image's 8-bit pixels, costed at 8 bits.
    EXPECT_EQ(q.imageBits, 8);
    EXPECT_TRUE(q.layers[0].inputIsImage);
    EXPECT_EQ(q.layers[0].activationBits, 8);
    EXPECT_EQ(q.layers[0].bitOps, q.layers[0].macs * 3 * 8);
    EXPECT_EQ(fp.layers[0].bitOps, fp.layers[0].macs * 32 * 32); // the fp network reads fp32
    EXPECT_EQ(q.layers[22].activationBits, 9);
    EXPECT_TRUE(q.layers[22].quantOverridden);
    EXPECT_FALSE(q.layers[8].quantOverridden);
    int64_t weights = 0, others = 0;
    for (const LayerSummary& l : q.layers) {
        weights += l.weightCount;
        others += l.parameters - l.weightCount + (l.moduleName.empty() ? 0 : 2); // + two step sizes
    }
    EXPECT_EQ(q.sizeBitsQuantized, weights * 3 + others * 32);
    EXPECT_GT(q.compression(), 8.0);
    EXPECT_EQ(q.layers[2].bitOps, q.layers[2].macs * 9);

    EXPECT_THROW(summarizeNetwork(spec, nullptr, 500, 288), Error);
    EXPECT_EQ(summarizeNetwork(spec, nullptr, 320, 192).layers[22].output.str(), "51x12x20");
}

} // namespace
} // namespace tyq
