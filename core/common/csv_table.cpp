#include "common/csv_table.h"

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/text.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace tyq {

int CsvTable::column(const std::string& name) const
{
    for (size_t i = 0; i < columns.size(); ++i)
        if (columns[i] == name)
            return static_cast<int>(i);
    return -1;
}

std::vector<double> CsvTable::values(const std::string& name) const
{
    std::vector<double> out;
    const int c = column(name);
    if (c < 0)
        return out;
    out.reserve(rows.size());
    for (const auto& row : rows)
        out.push_back(static_cast<size_t>(c) < row.size() ? row[static_cast<size_t>(c)] : std::nan(""));
    return out;
}

namespace {

// The run's CSVs are tyq's own append-only files: a byte-order mark (the file opened and saved in
// a spreadsheet) is dropped, but NUL bytes are not refused as readTextFile does, since a crash can
// leave a zero-filled tail, which the row parsing below drops like any torn line.
std::string readCsvText(const std::filesystem::path& path)
{
    std::string data = text::readFile(path.string());
    data.erase(0, data.size() - text::withoutByteOrderMark(data).size());
    return data;
}

} // namespace

CsvTable readCsv(const std::filesystem::path& path)
{
    const std::string data = readCsvText(path);
    CsvTable table;
    size_t start = 0;
    bool header = true;
    while (start < data.size()) {
        const size_t end = data.find('\n', start);
        if (end == std::string::npos)
            break; // torn last line
        const std::string_view line(data.data() + start, end - start);
        start = end + 1;
        if (text::trim(line).empty())
            continue;
        const std::vector<std::string> cells = text::split(line, ',');
        if (header) {
            table.columns = cells;
            header = false;
            continue;
        }
        std::vector<double> row;
        row.reserve(cells.size());
        for (const std::string& cell : cells)
            row.push_back(text::parseDouble(cell).value_or(std::nan("")));
        table.rows.push_back(std::move(row));
    }
    return table;
}

void appendLines(const std::filesystem::path& path, const std::vector<std::string>& lines)
{
    std::string chunk;
    for (const std::string& line : lines)
        chunk += line + "\n";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        fail(path, std::string("cannot write: ") + std::strerror(errno));
    const char* p = chunk.data();
    size_t left = chunk.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const std::string why = std::strerror(errno);
            ::close(fd);
            fail(path, "cannot write: " + why);
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    ::fdatasync(fd);
    ::close(fd);
}

void truncateCsv(const std::filesystem::path& path, size_t column, double limit)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return;
    const std::string data = readCsvText(path);
    std::string kept;
    size_t pos = 0;
    bool header = true;
    while (true) {
        const size_t end = data.find('\n', pos);
        if (end == std::string::npos)
            break; // a torn last line is dropped
        const std::string_view line(data.data() + pos, end - pos + 1);
        pos = end + 1;
        if (header) {
            kept += line;
            header = false;
            continue;
        }
        const std::vector<std::string> cells = text::split(text::trim(line), ',');
        const auto value = column < cells.size() ? text::parseDouble(cells[column]) : std::nullopt;
        if (value && *value < limit)
            kept += line;
    }
    writeFileAtomically(path, kept);
}

} // namespace tyq
