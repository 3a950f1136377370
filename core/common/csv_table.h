// Minimal CSV for tyq's own run files (numbers and simple names; no quoting needed): append
// rows as training goes, read them back for plots and resume.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tyq {

struct CsvTable {
    std::vector<std::string> columns;
    std::vector<std::vector<double>> rows; ///< non-numeric cells read as NaN

    /// Index of a column, or -1.
    int column(const std::string& name) const;
    /// All values of a column (empty if it does not exist).
    std::vector<double> values(const std::string& name) const;
};

/// Reads a CSV written by tyq. A last line without its newline (a write cut short) is ignored.
/// Throws tyq::Error naming the file if it cannot be read.
CsvTable readCsv(const std::filesystem::path& path);

/// Appends lines (each without '\n') and flushes them to disk. Throws tyq::Error on failure.
void appendLines(const std::filesystem::path& path, const std::vector<std::string>& lines);

/// Keeps the header and the complete rows whose value in `column` is below `limit`, dropping the
/// rest (and any torn last line), atomically. A missing file is left missing.
void truncateCsv(const std::filesystem::path& path, size_t column, double limit);

} // namespace tyq
