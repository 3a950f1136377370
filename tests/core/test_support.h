// Shared helpers of the core tests: where the reference files are, and temporary folders.
#pragma once

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <functional>
#include <string>
#include <sys/resource.h>

namespace tyq::test {

/// The reference system's files: $TYQ_REFERENCE_DIR, else the build's default (../shared).
std::filesystem::path referenceDir();

/// True if the reference folder holds seed/ and golden/.
bool haveReference();

/// tests/data of the source tree.
std::filesystem::path testDataDir();

/// A fresh, empty folder removed when the object dies.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

/// The message of the tyq::Error that `f` throws; when it throws none, a test failure and "".
std::string errorOf(const std::function<void()>& f);

/// The shipped default bit-widths (config/lsq-3bit.yaml of the source tree).
std::filesystem::path shippedQuantYaml();

/// A file's bytes ("" when it cannot be read).
std::string readBytes(const std::filesystem::path& path);

/// The contest's twelve class names, one per line (a dac.names file).
std::string dacNamesText();

/// Writes text to a file (creating folders); for building malformed inputs in tests.
void writeText(const std::filesystem::path& file, const std::string& content);

/// While alive, every write of this process fails beyond `bytes` (EFBIG), as on a full disk;
/// unlike a read-only folder, this holds for root too.
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes)
    {
        getrlimit(RLIMIT_FSIZE, &old_);
        oldHandler_ = std::signal(SIGXFSZ, SIG_IGN); // write() then fails instead of killing us
        rlimit limit = old_;
        limit.rlim_cur = bytes;
        active_ = setrlimit(RLIMIT_FSIZE, &limit) == 0;
    }
    ~FileSizeLimit()
    {
        setrlimit(RLIMIT_FSIZE, &old_);
        std::signal(SIGXFSZ, oldHandler_);
    }
    FileSizeLimit(const FileSizeLimit&) = delete;
    FileSizeLimit& operator=(const FileSizeLimit&) = delete;
    bool active() const { return active_; }

private:
    rlimit old_{};
    void (*oldHandler_)(int) = nullptr;
    bool active_ = false;
};

} // namespace tyq::test

/// Skips the current test with a clear message when the reference files are absent.
#define TYQ_REQUIRE_REFERENCE()                                                                      \
    do {                                                                                             \
        if (!::tyq::test::haveReference())                                                           \
            GTEST_SKIP() << "reference files not found at " << ::tyq::test::referenceDir()           \
                         << " (set TYQ_REFERENCE_DIR to the folder holding seed/ and golden/)";     \
    } while (0)

/// Expects `haystack` (a message) to contain `needle`, printing the whole message when not.
#define EXPECT_CONTAINS(haystack, needle) \
    EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)
