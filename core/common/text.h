// Small, strict text helpers shared by the config readers (cfg, .data, labels, lists).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tyq::text {

std::string_view trim(std::string_view s);

/// Splits on `sep`, trimming each piece; empty pieces are kept (so "1,,2" has three).
std::vector<std::string> split(std::string_view s, char sep);

/// Splits on runs of whitespace; no empty pieces.
std::vector<std::string> splitWhitespace(std::string_view s);

/// Whole-string conversions: nullopt for empty input, trailing junk, overflow or non-finite.
std::optional<long long> parseInt(std::string_view s);
std::optional<double> parseDouble(std::string_view s);

/// The lines of `s` without their line breaks ("\n", "\r\n" or "\r").
std::vector<std::string> lines(std::string_view s);

/// Reads a whole file as bytes; throws tyq::Error naming the file if it cannot be read or exceeds
/// maxBytes. For binary formats (zip, .npy, packed weights); text goes through readTextFile.
std::string readFile(const std::string& path, size_t maxBytes = size_t(1) << 30);

/// Reads a UTF-8 text file (cfg, YAML, JSON, lists, labels, names, CSV) as readFile does, without
/// the UTF-8 byte-order mark that some Windows editors put first. A UTF-16 or UTF-32 file, or one
/// holding a NUL byte, is refused naming the file: read as UTF-8 it would only give wrong names.
std::string readTextFile(const std::string& path, size_t maxBytes = size_t(1) << 30);

/// `s` without a leading UTF-8 byte-order mark (EF BB BF).
std::string_view withoutByteOrderMark(std::string_view s);

} // namespace tyq::text
