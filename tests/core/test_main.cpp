#include "test_support.h"

#include "common/compute_threads.h"
#include "common/error.h"
#include "data/dataset.h"

#include <cstdlib>
#include <fstream>
#include <random>

namespace tyq::test {

std::filesystem::path referenceDir()
{
    if (const char* env = std::getenv("TYQ_REFERENCE_DIR"); env && *env)
        return env;
    return TYQ_REFERENCE_DIR_DEFAULT;
}

bool haveReference()
{
    const auto dir = referenceDir();
    return std::filesystem::is_directory(dir / "seed") && std::filesystem::is_directory(dir / "golden");
}

std::filesystem::path testDataDir()
{
    return std::filesystem::path(TYQ_SOURCE_DIR) / "tests" / "data";
}

std::string errorOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "no tyq::Error";
    return {};
}

std::string readBytes(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string dacNamesText()
{
    std::string s;
    for (const std::string& name : dacClassNames())
        s += name + "\n";
    return s;
}

std::filesystem::path shippedQuantYaml()
{
    return std::filesystem::path(TYQ_SOURCE_DIR) / "config" / "lsq-3bit.yaml";
}

TempDir::TempDir()
{
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("tyq-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

void writeText(const std::filesystem::path& file, const std::string& content)
{
    if (file.has_parent_path())
        std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
}

} // namespace tyq::test

int main(int argc, char** argv)
{
    ::testing::InitGoogleTest(&argc, argv);
    tyq::configureComputeThreads(0);
    return RUN_ALL_TESTS();
}
