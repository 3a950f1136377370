// tyq's error type: every failure a user can act on names the file (and the line or key where
// it applies) and the problem. Readers throw tyq::Error; mains catch it and print what().
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace tyq {

/// What a caller can do about an error, for the UIs that react to some kinds (they never parse
/// the message, which is for people).
enum class ErrorKind {
    generic,         ///< fix the named file, flag or value
    needsBitWidths,  ///< an LSQ-quantized model was loaded without its bit-width YAML
    invalidWeights,  ///< NaN/Inf, a negative variance or a step size <= 0 (see checkWeights)
};

/// An error caused by input or environment (a file, a flag, a full disk), not by a bug.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message, ErrorKind kind = ErrorKind::generic)
        : std::runtime_error(message), kind_(kind)
    {
    }
    explicit Error(const char* message) : std::runtime_error(message) {}
    ErrorKind kind() const { return kind_; }

private:
    ErrorKind kind_ = ErrorKind::generic;
};

/// "path:line: problem" (line omitted when 0), the form compilers use, so editors can jump to it.
std::string located(const std::filesystem::path& file, int line, const std::string& problem);

/// Throws Error(located(file, line, problem)).
[[noreturn]] void fail(const std::filesystem::path& file, int line, const std::string& problem);

/// Throws Error("path: problem").
[[noreturn]] void fail(const std::filesystem::path& file, const std::string& problem);

} // namespace tyq
