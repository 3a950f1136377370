// .npy files (NumPy format 1.0): what tyq writes reads back exactly, in the layout NumPy
// expects (64-byte aligned data), and damaged files are refused with tyq::Error.
#include "test_support.h"

#include "common/error.h"
#include "io/npy.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <fstream>

namespace tyq {
namespace {

namespace fs = std::filesystem;

void writeBytes(const fs::path& path, const std::string& bytes)
{
    std::ofstream(path, std::ios::binary) << bytes;
}

size_t headerLength(const std::string& file)
{
    return static_cast<unsigned char>(file[8]) | (static_cast<size_t>(static_cast<unsigned char>(file[9])) << 8);
}

TEST(Npy, RoundTripsEverySupportedTypeAndShape)
{
    torch::manual_seed(9);
    test::TempDir dir;
    const std::vector<at::ScalarType> types = {at::kFloat, at::kChar, at::kShort, at::kInt, at::kLong, at::kByte};
    const std::vector<std::vector<int64_t>> shapes = {{}, {5}, {2, 3, 4}, {0}, {1728, 17}};
    int n = 0;
    for (at::ScalarType type : types) {
        for (const auto& shape : shapes) {
            at::Tensor t = type == at::kFloat  ? torch::randn(shape) * 1e3
                           : type == at::kByte ? (torch::rand(shape) * 255).to(type)
                                               : (torch::rand(shape) * 200 - 100).to(type);
            if (type == at::kLong && t.numel() > 0)
                t.view({-1})[0] = int64_t(1) << 40; // needs all 8 bytes
            const fs::path file = dir / ("t" + std::to_string(n++) + ".npy");
            writeNpy(t, file);
            const at::Tensor back = readNpy(file);
            EXPECT_EQ(back.scalar_type(), type) << file;
            EXPECT_EQ(back.sizes(), t.sizes()) << file;
            EXPECT_TRUE(torch::equal(back, t)) << file;
        }
    }
}

TEST(Npy, WritesTheNumpyHeaderWithAlignedData)
{
    test::TempDir dir;
    struct Case {
        at::Tensor tensor;
        std::string descr, shape;
    };
    const std::vector<Case> cases = {{torch::zeros({1728, 17}), "'<f4'", "(1728, 17)"},
                                     {torch::zeros({5}, at::kChar), "'|i1'", "(5,)"},
                                     {torch::tensor(int64_t(3)), "'<i8'", "()"},
                                     {torch::zeros({2, 3, 4}, at::kShort), "'<i2'", "(2, 3, 4)"},
                                     {torch::zeros({2}, at::kByte), "'|u1'", "(2,)"},
                                     {torch::zeros({2}, at::kInt), "'<i4'", "(2,)"}};
    for (const Case& c : cases) {
        writeNpy(c.tensor, dir / "h.npy");
        const std::string file = test::readBytes(dir / "h.npy");
        ASSERT_GE(file.size(), 10u);
        EXPECT_EQ(file.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
        const size_t dataStart = 10 + headerLength(file);
        EXPECT_EQ(dataStart % 64, 0u) << "data starts at " << dataStart;
        EXPECT_EQ(file[dataStart - 1], '\n');
        const std::string header = file.substr(10, headerLength(file));
        EXPECT_NE(header.find("'descr': " + c.descr), std::string::npos) << header;
        EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << header;
        EXPECT_NE(header.find("'shape': " + c.shape), std::string::npos) << header;
        EXPECT_EQ(file.size() - dataStart, static_cast<size_t>(c.tensor.numel() * c.tensor.element_size()));
    }
}

TEST(Npy, WritesNonContiguousTensorsInCOrder)
{
    test::TempDir dir;
    const at::Tensor t = torch::arange(12, at::kFloat).view({3, 4}).t();
    writeNpy(t, dir / "t.npy");
    const std::string file = test::readBytes(dir / "t.npy");
    const float* data = reinterpret_cast<const float*>(file.data() + 10 + headerLength(file));
    EXPECT_EQ(data[0], 0.f);
    EXPECT_EQ(data[1], 4.f); // row 0 of the transpose: 0, 4, 8
    EXPECT_EQ(data[2], 8.f);
    EXPECT_TRUE(torch::equal(readNpy(dir / "t.npy"), t));
}

TEST(Npy, ReadsAFileWrittenByHand)
{
    // As numpy.save (1.24) writes np.arange(3, dtype='<i2'): data at byte 128.
    test::TempDir dir;
    std::string header = "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }";
    header.append(128 - 10 - header.size() - 1, ' ');
    header += '\n';
    writeBytes(dir / "a.npy", std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header +
                                  std::string("\x00\x00\x01\x00\x02\x00", 6));
    const at::Tensor t = readNpy(dir / "a.npy");
    EXPECT_EQ(t.scalar_type(), at::kShort);
    EXPECT_TRUE(torch::equal(t, torch::tensor({0, 1, 2}, at::kShort)));
}

std::string refusal(const fs::path& file)
{
    try {
        readNpy(file);
    } catch (const Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << file << ": refused with a non-tyq error: " << e.what();
        return {};
    }
    ADD_FAILURE() << file << ": accepted";
    return {};
}

TEST(Npy, RefusesMalformedFiles)
{
    test::TempDir dir;
    writeNpy(torch::arange(6, at::kFloat).view({2, 3}), dir / "good.npy");
    const std::string good = test::readBytes(dir / "good.npy");
    const size_t dataStart = 10 + headerLength(good);
    auto variant = [&](const std::string& name, const std::string& bytes) {
        writeBytes(dir / name, bytes);
        const std::string message = refusal(dir / name);
        EXPECT_NE(message.find(name), std::string::npos) << "names the file: " << message;
        return message;
    };
    auto withHeader = [&](std::string header) {
        header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
        header += '\n';
        return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size() & 0xFF) +
               static_cast<char>(header.size() >> 8) + header + good.substr(dataStart);
    };
    variant("empty.npy", "");
    variant("text.npy", "hello, this is not an array\n");
    variant("magic-only.npy", good.substr(0, 8));
    variant("cut-header.npy", good.substr(0, 30));
    EXPECT_NE(variant("cut-data.npy", good.substr(0, good.size() - 1)).find("truncated"), std::string::npos);
    std::string badVersion = good;
    badVersion[6] = 9;
    variant("version.npy", badVersion);
    variant("descr.npy", withHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }"));
    variant("big-endian.npy", withHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }"));
    variant("fortran.npy", withHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"));
    variant("no-shape.npy", withHeader("{'descr': '<f4', 'fortran_order': False, }"));
    variant("bad-shape.npy", withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }"));
    variant("negative.npy", withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }"));
    variant("larger.npy", withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }"));
    variant("huge.npy", withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000, 1000000), }"));
    refusal(dir / "missing.npy");
}

TEST(Npy, RefusesUnsupportedTypesOnWrite)
{
    test::TempDir dir;
    EXPECT_THROW(writeNpy(torch::zeros({2}, at::kHalf), dir / "half.npy"), Error);
    EXPECT_FALSE(fs::exists(dir / "half.npy"));
}

} // namespace
} // namespace tyq
