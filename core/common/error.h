// tyq's error type: every failure a user can act on names the file (and the line or key where
// it applies) and the problem. Readers throw tyq::Error; mains catch it and print what().
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace tyq {

/// An error caused by input or environment (a file, a flag, a full disk), not by a bug.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// "path:line: problem" (line omitted when 0), the form compilers use, so editors can jump to it.
std::string located(const std::filesystem::path& file, int line, const std::string& problem);

/// Throws Error(located(file, line, problem)).
[[noreturn]] void fail(const std::filesystem::path& file, int line, const std::string& problem);

/// Throws Error("path: problem").
[[noreturn]] void fail(const std::filesystem::path& file, const std::string& problem);

} // namespace tyq
