// Reading PyTorch archives without Python: the reference checkpoints give exactly the names,
// shapes and values the reference documents; damaged or hostile files are refused with
// tyq::Error (never a crash); and what tyq writes reads back unchanged.
#include "reference_params.h"
#include "test_support.h"

#include "common/error.h"
#include "io/pickle_reader.h"
#include "io/state_dict.h"
#include "io/zip_reader.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>

namespace tyq {
namespace {

namespace fs = std::filesystem;
using test::NamedShape;

const at::Tensor& tensorNamed(const StateDict& state, const std::string& name)
{
    for (const auto& [n, t] : state)
        if (n == name)
            return t;
    throw std::runtime_error("no tensor " + name);
}

void writeBytes(const fs::path& path, const std::string& bytes)
{
    std::ofstream(path, std::ios::binary) << bytes;
}

// ---- Building archives by hand -------------------------------------------------------------

std::string le(uint64_t v, int width)
{
    std::string out;
    for (int i = 0; i < width; ++i)
        out += static_cast<char>((v >> (8 * i)) & 0xFF);
    return out;
}

/// A stored (uncompressed) zip archive, laid out as zip's APPNOTE says.
std::string makeZip(const std::vector<std::pair<std::string, std::string>>& entries)
{
    std::string body, directory;
    for (const auto& [name, data] : entries) {
        const uint32_t crc = crc32(data);
        const uint64_t offset = body.size();
        body += le(0x04034b50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(crc, 4) +
                le(data.size(), 4) + le(data.size(), 4) + le(name.size(), 2) + le(0, 2) + name + data;
        directory += le(0x02014b50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 2) +
                     le(crc, 4) + le(data.size(), 4) + le(data.size(), 4) + le(name.size(), 2) + le(0, 2) +
                     le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(offset, 4) + name;
    }
    const std::string end = le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(entries.size(), 2) +
                            le(entries.size(), 2) + le(directory.size(), 4) + le(body.size(), 4) + le(0, 2);
    return body + directory + end;
}

// Pickle opcodes (protocol 2), written out so each test states exactly what the file holds.
std::string str(const std::string& s) { return "X" + le(s.size(), 4) + s; }
std::string global(const std::string& module, const std::string& name) { return "c" + module + "\n" + name + "\n"; }
std::string integer(int64_t v)
{
    if (v >= 0 && v < 256)
        return "K" + le(static_cast<uint64_t>(v), 1);
    return "\x8a\x08" + le(static_cast<uint64_t>(v), 8); // LONG1, 8 bytes
}
std::string intTuple(const std::vector<int64_t>& values)
{
    std::string out = "(";
    for (int64_t v : values)
        out += integer(v);
    return out + "t";
}

struct TensorRecord {
    std::string key = "0";
    std::string storageType = "FloatStorage";
    int64_t storageNumel = 4;
    int64_t offset = 0;
    std::vector<int64_t> size{2, 2};
    std::vector<int64_t> stride{2, 1};
};

std::string tensorPickle(const TensorRecord& t)
{
    return global("torch._utils", "_rebuild_tensor_v2") + "((" + str("storage") + global("torch", t.storageType) +
           str(t.key) + str("cpu") + integer(t.storageNumel) + "tQ" + integer(t.offset) + intTuple(t.size) +
           intTuple(t.stride) + "\x89" + global("collections", "OrderedDict") + ")R" + "tR";
}

/// torch.save's layout: an OrderedDict of name -> tensor in archive/data.pkl.
std::string stateDictPickle(const std::vector<std::pair<std::string, TensorRecord>>& tensors)
{
    std::string p = "\x80\x02" + global("collections", "OrderedDict") + ")R";
    for (const auto& [name, record] : tensors)
        p += str(name) + tensorPickle(record) + "s";
    return p + ".";
}

std::string floatBytes(const std::vector<float>& values)
{
    return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

std::string archive(const std::string& pickle, const std::vector<std::pair<std::string, std::string>>& storages)
{
    std::vector<std::pair<std::string, std::string>> entries = {{"archive/data.pkl", pickle}};
    for (const auto& [key, bytes] : storages)
        entries.emplace_back("archive/data/" + key, bytes);
    entries.emplace_back("archive/version", "3\n");
    return makeZip(entries);
}

/// readStateDict must refuse the file with tyq::Error; returns the message.
std::string refusal(const fs::path& file)
{
    try {
        readStateDict(file);
    } catch (const Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        const std::string what = e.what();
        ADD_FAILURE() << file << ": refused, but with a " << typeid(e).name()
                      << " instead of tyq::Error: " << what.substr(0, what.find('\n'));
        return what;
    }
    ADD_FAILURE() << file << ": was accepted";
    return {};
}

std::string refusalOfBytes(const test::TempDir& dir, const std::string& name, const std::string& bytes)
{
    const fs::path file = dir / name;
    writeBytes(file, bytes);
    return refusal(file);
}

// ---- The reference checkpoints ---------------------------------------------------------------

TEST(PickleReader, ReferenceCheckpointsHoldExactlyTheDocumentedNamesAndShapes)
{
    TYQ_REQUIRE_REFERENCE();
    const fs::path seed = test::referenceDir() / "seed";
    const test::ReferenceParams params = test::readReferenceParams(seed / "lsq_model_params.txt");
    ASSERT_EQ(params.fp.size(), 29u) << "10 convs' weights, 9 BNs' weight and bias, conv_22's bias";
    ASSERT_EQ(params.lsq.size(), 49u) << "plus quan_w_fn.s and quan_a_fn.s of each of the 10 convs";

    const StateDict fp = readStateDict(seed / "fp_ckpt_94.pth");
    EXPECT_EQ(test::namesAndShapes(fp), test::withBatchNormBuffers(params.fp));
    EXPECT_EQ(fp.size(), 29u + 9 * 3);

    const StateDict lsq = readStateDict(seed / "lsq_ckpt_92.pth");
    EXPECT_EQ(test::namesAndShapes(lsq), test::withBatchNormBuffers(params.lsq));
    EXPECT_EQ(lsq.size(), 49u + 9 * 3);
}

TEST(PickleReader, ReferenceBatchNormStatisticsAreSane)
{
    TYQ_REQUIRE_REFERENCE();
    for (const char* file : {"fp_ckpt_94.pth", "lsq_ckpt_92.pth"}) {
        const StateDict state = readStateDict(test::referenceDir() / "seed" / file);
        int batchNorms = 0;
        for (const auto& [name, t] : state) {
            EXPECT_EQ(t.device().type(), c10::DeviceType::CPU) << file << " " << name << " (saved from CUDA)";
            if (name.find("num_batches_tracked") != std::string::npos) {
                ++batchNorms;
                EXPECT_EQ(t.scalar_type(), at::kLong) << name;
                EXPECT_EQ(t.dim(), 0) << name;
                EXPECT_GT(t.item<int64_t>(), 0) << name;
                continue;
            }
            ASSERT_EQ(t.scalar_type(), at::kFloat) << file << " " << name;
            EXPECT_TRUE(torch::isfinite(t).all().item<bool>()) << file << " " << name;
            EXPECT_GT(t.abs().sum().item<double>(), 0) << file << " " << name << " is all zeros";
            if (name.find("running_var") != std::string::npos) {
                EXPECT_GT(t.min().item<float>(), 0) << file << " " << name;
            }
            if (name.find(".s") == name.size() - 2) {
                EXPECT_GT(t.min().item<float>(), 0) << file << " " << name << ": step sizes are positive";
            }
        }
        EXPECT_EQ(batchNorms, 9) << file;
    }
    // Values Python's torch.load shows for these files.
    const StateDict fp = readStateDict(test::referenceDir() / "seed" / "fp_ckpt_94.pth");
    EXPECT_EQ(tensorNamed(fp, "module_list.0.batch_norm_0.num_batches_tracked").item<int64_t>(), 97280);
    const StateDict lsq = readStateDict(test::referenceDir() / "seed" / "lsq_ckpt_92.pth");
    EXPECT_EQ(tensorNamed(lsq, "module_list.0.batch_norm_0.num_batches_tracked").item<int64_t>(), 192512);
}

TEST(PickleReader, ReferenceStepSizesHaveTheirSavedValues)
{
    TYQ_REQUIRE_REFERENCE();
    const StateDict lsq = readStateDict(test::referenceDir() / "seed" / "lsq_ckpt_92.pth");
    // Layer 0's input is not quantized (bit 0), so its activation step never left its start value.
    const at::Tensor a0 = tensorNamed(lsq, "module_list.0.conv_0.quan_a_fn.s");
    ASSERT_EQ(a0.sizes(), at::IntArrayRef({1}));
    EXPECT_EQ(a0.item<float>(), 0.1260f);
    const at::Tensor w0 = tensorNamed(lsq, "module_list.0.conv_0.quan_w_fn.s");
    ASSERT_EQ(w0.dim(), 0);
    EXPECT_NEAR(w0.item<double>(), 0.0897, 1e-4);
    EXPECT_NEAR(w0.item<double>(), 0.0897488296, 1e-8); // torch.load's value
    EXPECT_NEAR(tensorNamed(lsq, "module_list.22.conv_22.quan_a_fn.s").item<double>(), 0.0261, 1e-4);
}

// ---- Hand-built archives ---------------------------------------------------------------------

TEST(PickleReader, ReadsAHandBuiltArchive)
{
    // Guards the builder below: the malformed files differ from this one in one point each.
    test::TempDir dir;
    TensorRecord transposed;
    transposed.key = "1";
    transposed.stride = {1, 2};
    TensorRecord viewWithOffset;
    viewWithOffset.key = "1"; // shares storage "1"
    viewWithOffset.storageNumel = 4;
    viewWithOffset.offset = 1;
    viewWithOffset.size = {3};
    viewWithOffset.stride = {1};
    const std::string bytes = archive(stateDictPickle({{"a", TensorRecord{}}, {"b", transposed}, {"c", viewWithOffset}}),
                                      {{"0", floatBytes({1, 2, 3, 4})}, {"1", floatBytes({5, 6, 7, 8})}});
    writeBytes(dir / "ok.pth", bytes);
    const StateDict state = readStateDict(dir / "ok.pth");
    ASSERT_EQ(state.size(), 3u);
    EXPECT_EQ(state[0].first, "a");
    EXPECT_TRUE(torch::equal(state[0].second, torch::tensor({1.f, 2.f, 3.f, 4.f}).view({2, 2})));
    EXPECT_TRUE(torch::equal(state[1].second, torch::tensor({5.f, 7.f, 6.f, 8.f}).view({2, 2})));
    EXPECT_TRUE(torch::equal(state[2].second, torch::tensor({6.f, 7.f, 8.f})));
}

TEST(PickleReader, RefusesEmptyAndRandomFiles)
{
    test::TempDir dir;
    EXPECT_NE(refusalOfBytes(dir, "empty.pth", "").find("empty.pth"), std::string::npos);
    std::mt19937 rng(42);
    std::string noise(4096, '\0');
    for (char& c : noise)
        c = static_cast<char>(rng());
    refusalOfBytes(dir, "noise.pth", noise);
    refusalOfBytes(dir, "noise-with-zip-magic.pth", "PK\x03\x04" + noise);
    refusal(dir / "does-not-exist.pth");
}

TEST(PickleReader, RefusesTruncatedCopiesOfTheReferenceCheckpoint)
{
    TYQ_REQUIRE_REFERENCE();
    const std::string full = test::readBytes(test::referenceDir() / "seed" / "fp_ckpt_94.pth");
    ASSERT_GT(full.size(), 100000u);
    test::TempDir dir;
    for (size_t length : {size_t(1), size_t(4), size_t(30), size_t(200), size_t(5000), full.size() / 3,
                          full.size() / 2, full.size() - 1000, full.size() - 23, full.size() - 1}) {
        const std::string name = "truncated-" + std::to_string(length) + ".pth";
        const std::string message = refusalOfBytes(dir, name, full.substr(0, length));
        EXPECT_NE(message.find(name), std::string::npos) << "the message names the file: " << message;
    }
}

TEST(PickleReader, RefusesAnArchiveWhosePickleIsGarbage)
{
    test::TempDir dir;
    std::mt19937 rng(7);
    std::string garbage(300, '\0');
    for (char& c : garbage)
        c = static_cast<char>(rng());
    refusalOfBytes(dir, "garbage.pth", archive(garbage, {}));
    // A pickle that stops half-way through.
    const std::string whole = stateDictPickle({{"a", TensorRecord{}}});
    refusalOfBytes(dir, "cut.pth", archive(whole.substr(0, whole.size() / 2), {{"0", floatBytes({1, 2, 3, 4})}}));
    // No data.pkl at all.
    EXPECT_NE(refusalOfBytes(dir, "nopkl.pth", makeZip({{"archive/version", "3\n"}})).find("data.pkl"), std::string::npos);
}

TEST(PickleReader, RefusesAStorageLargerThanItsRecord)
{
    test::TempDir dir;
    TensorRecord t;
    t.storageNumel = 100; // but the record holds 4 floats
    const std::string message = refusalOfBytes(dir, "big.pth", archive(stateDictPickle({{"a", t}}), {{"0", floatBytes({1, 2, 3, 4})}}));
    EXPECT_NE(message.find("100"), std::string::npos) << message;
    // A storage whose record is missing altogether.
    refusalOfBytes(dir, "missing.pth", archive(stateDictPickle({{"a", TensorRecord{}}}), {}));
    // A negative size.
    t.storageNumel = -1;
    refusalOfBytes(dir, "negative.pth", archive(stateDictPickle({{"a", t}}), {{"0", floatBytes({1, 2, 3, 4})}}));
}

TEST(PickleReader, RefusesTensorViewsPastTheirStorage)
{
    test::TempDir dir;
    const auto storage = std::vector<std::pair<std::string, std::string>>{{"0", floatBytes({1, 2, 3, 4})}};
    TensorRecord tooBig; // 3 x 2 needs 6 elements
    tooBig.size = {3, 2};
    refusalOfBytes(dir, "size.pth", archive(stateDictPickle({{"a", tooBig}}), storage));
    TensorRecord offset; // offset 1 + 4 elements
    offset.offset = 1;
    refusalOfBytes(dir, "offset.pth", archive(stateDictPickle({{"a", offset}}), storage));
    TensorRecord stride;
    stride.stride = {3, 1};
    refusalOfBytes(dir, "stride.pth", archive(stateDictPickle({{"a", stride}}), storage));
    TensorRecord negative;
    negative.offset = -1;
    refusalOfBytes(dir, "negative-offset.pth", archive(stateDictPickle({{"a", negative}}), storage));
    TensorRecord rank;
    rank.stride = {1};
    refusalOfBytes(dir, "rank.pth", archive(stateDictPickle({{"a", rank}}), storage));
    // (size - 1) * stride = (2^40 - 1) * 2^40 does not fit in 64 bits: a check that wraps
    // around sees an extent below the storage size.
    TensorRecord overflow;
    overflow.size = {int64_t(1) << 40};
    overflow.stride = {int64_t(1) << 40};
    refusalOfBytes(dir, "overflow.pth", archive(stateDictPickle({{"a", overflow}}), storage));
    TensorRecord overflow2d;
    overflow2d.size = {int64_t(1) << 40, int64_t(1) << 40};
    overflow2d.stride = {int64_t(1) << 40, int64_t(1) << 40};
    refusalOfBytes(dir, "overflow2d.pth", archive(stateDictPickle({{"a", overflow2d}}), storage));
    // A stride-0 (expanded) view of one float claiming 2^40 elements: copying it would need 4 TiB.
    TensorRecord expanded;
    expanded.size = {int64_t(1) << 40};
    expanded.stride = {0};
    refusalOfBytes(dir, "expanded.pth", archive(stateDictPickle({{"a", expanded}}), storage));
}

TEST(PickleReader, RefusesUnknownOpcodes)
{
    test::TempDir dir;
    const std::string message = refusalOfBytes(dir, "opcode.pth", archive(std::string("\x80\x02\xfe.", 4), {}));
    EXPECT_NE(message.find("0xfe"), std::string::npos) << message;
    // Protocol newer than 5.
    refusalOfBytes(dir, "proto.pth", archive(std::string("\x80\x06N.", 4), {}));
    // Popping from an empty stack, a STOP with two values, a memo reference never stored.
    refusalOfBytes(dir, "underflow.pth", archive(std::string("\x80\x02s.", 4), {}));
    refusalOfBytes(dir, "two-values.pth", archive(std::string("\x80\x02NN.", 5), {}));
    refusalOfBytes(dir, "memo.pth", archive(std::string("\x80\x02h\x05.", 5), {}));
}

TEST(PickleReader, RefusesDeepNesting)
{
    test::TempDir dir;
    // 300 nested tuples: ((((...)))).
    const std::string tuples = "\x80\x02" + std::string(300, '(') + std::string(300, 't') + ".";
    EXPECT_NE(refusalOfBytes(dir, "tuples.pth", archive(tuples, {})).find("nesting"), std::string::npos);
    // 300 nested lists built by APPENDing each into the one below it on the stack.
    const std::string lists = "\x80\x02" + std::string(301, ']') + std::string(300, 'a') + ".";
    EXPECT_NE(refusalOfBytes(dir, "lists.pth", archive(lists, {})).find("nesting"), std::string::npos);
}

TEST(PickleReader, RefusesDeepNestingBuiltOutOfOrder)
{
    // The same chain built from memoized empty lists, each appended into its parent before it
    // gets its own child: no single APPEND sees a deep value, yet the chain is 200000 deep.
    // Freeing such a chain recursively would overflow the stack.
    test::TempDir dir;
    const uint32_t n = 200000;
    std::string p = "\x80\x02";
    for (uint32_t i = 0; i <= n; ++i)
        p += "]r" + le(i, 4) + "0"; // EMPTY_LIST, LONG_BINPUT i, POP
    for (uint32_t i = 0; i < n; ++i)
        p += "j" + le(i, 4) + "j" + le(i + 1, 4) + "a0"; // list[i].append(list[i + 1])
    p += "j" + le(0, 4) + ".";
    EXPECT_NE(refusalOfBytes(dir, "chain.pth", archive(p, {})).find("changed after"), std::string::npos);
    // The shortest such change: a list filled after it was put in another.
    const std::string late = std::string("\x80\x02" "]q\x00" "]h\x00" "a0h\x00" "Na.", 15);
    EXPECT_NE(refusalOfBytes(dir, "late.pth", archive(late, {})).find("changed after"), std::string::npos);
}

TEST(PickleReader, ReportsACorruptedEntry)
{
    test::TempDir dir;
    std::string bytes = archive(stateDictPickle({{"a", TensorRecord{}}}), {{"0", floatBytes({1, 2, 3, 4})}});
    // Change one byte of the tensor data (the first float) without updating its CRC.
    const size_t at = bytes.find(floatBytes({1, 2, 3, 4}));
    ASSERT_NE(at, std::string::npos);
    bytes[at] ^= 0x01;
    const std::string message = refusalOfBytes(dir, "crc.pth", bytes);
    EXPECT_NE(message.find("CRC"), std::string::npos) << message;
}

TEST(PickleReader, ZipArchiveListsEntriesAndChecksThem)
{
    const ZipArchive zip(makeZip({{"a/x", "hello"}, {"a/y", ""}}), "mem.zip");
    EXPECT_EQ(zip.names(), (std::vector<std::string>{"a/x", "a/y"}));
    EXPECT_EQ(zip.read("a/x"), "hello");
    EXPECT_EQ(zip.read("a/y"), "");
    EXPECT_THROW(zip.read("a/z"), Error);
    EXPECT_EQ(crc32("123456789"), 0xCBF43926u); // the standard check value
}

// ---- Writing ---------------------------------------------------------------------------------

TEST(PickleReader, WrittenStateDictsReadBackIdentical)
{
    torch::manual_seed(0);
    test::TempDir dir;
    const at::Tensor base = torch::randn({3, 4});
    const StateDict written = {
        {"conv.weight", torch::randn({2, 3, 3, 3})},
        {"bn.num_batches_tracked", torch::tensor(int64_t(97280))},
        {"empty", torch::empty({0, 4})},
        {"transposed", base.t()}, // non-contiguous
        {"scalar", torch::tensor(0.1260f)},
        {"bytes", torch::tensor({1, 2, 250}, torch::kUInt8)},
    };
    ASSERT_FALSE(written[3].second.is_contiguous());
    writeStateDictPth(written, dir / "out.pth");
    const StateDict read = readStateDict(dir / "out.pth");
    ASSERT_EQ(read.size(), written.size());
    for (size_t i = 0; i < read.size(); ++i) {
        EXPECT_EQ(read[i].first, written[i].first);
        EXPECT_EQ(read[i].second.scalar_type(), written[i].second.scalar_type()) << read[i].first;
        EXPECT_EQ(read[i].second.sizes(), written[i].second.sizes()) << read[i].first;
        EXPECT_TRUE(torch::equal(read[i].second, written[i].second)) << read[i].first;
    }
    EXPECT_EQ(read[1].second.dim(), 0);
    EXPECT_EQ(read[1].second.item<int64_t>(), 97280);
}

TEST(PickleReader, ReferenceCheckpointSurvivesAWriteAndRead)
{
    TYQ_REQUIRE_REFERENCE();
    test::TempDir dir;
    const StateDict original = readStateDict(test::referenceDir() / "seed" / "lsq_ckpt_92.pth");
    writeStateDictPth(original, dir / "copy.pth");
    const StateDict copy = readStateDict(dir / "copy.pth");
    ASSERT_EQ(test::namesAndShapes(copy), test::namesAndShapes(original));
    for (size_t i = 0; i < copy.size(); ++i)
        EXPECT_TRUE(torch::equal(copy[i].second, original[i].second)) << copy[i].first;
}

} // namespace
} // namespace tyq
