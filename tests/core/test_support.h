// Shared helpers of the core tests: where the reference files are, and temporary folders.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

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

/// Writes text to a file (creating folders); for building malformed inputs in tests.
void writeText(const std::filesystem::path& file, const std::string& content);

} // namespace tyq::test

/// Skips the current test with a clear message when the reference files are absent.
#define TYQ_REQUIRE_REFERENCE()                                                                      \
    do {                                                                                             \
        if (!::tyq::test::haveReference())                                                           \
            GTEST_SKIP() << "reference files not found at " << ::tyq::test::referenceDir()           \
                         << " (set TYQ_REFERENCE_DIR to the folder holding seed/ and golden/)";     \
    } while (0)
