#include "common/text.h"

#include "common/error.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace tyq::text {

std::string_view trim(std::string_view s)
{
    const char* ws = " \t\r\n\f\v";
    const size_t first = s.find_first_not_of(ws);
    if (first == std::string_view::npos)
        return {};
    const size_t last = s.find_last_not_of(ws);
    return s.substr(first, last - first + 1);
}

std::vector<std::string> split(std::string_view s, char sep)
{
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
        const size_t pos = s.find(sep, start);
        parts.emplace_back(trim(s.substr(start, pos == std::string_view::npos ? pos : pos - start)));
        if (pos == std::string_view::npos)
            break;
        start = pos + 1;
    }
    return parts;
}

std::vector<std::string> splitWhitespace(std::string_view s)
{
    std::vector<std::string> parts;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
            ++i;
        size_t j = i;
        while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j])))
            ++j;
        if (j > i)
            parts.emplace_back(s.substr(i, j - i));
        i = j;
    }
    return parts;
}

std::optional<long long> parseInt(std::string_view s)
{
    s = trim(s);
    if (!s.empty() && s.front() == '+')
        s.remove_prefix(1);
    long long value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size())
        return std::nullopt;
    return value;
}

std::optional<double> parseDouble(std::string_view s)
{
    s = trim(s);
    if (!s.empty() && s.front() == '+')
        s.remove_prefix(1);
    double value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value))
        return std::nullopt;
    return value;
}

std::vector<std::string> lines(std::string_view s)
{
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' || s[i] == '\r') {
            out.emplace_back(s.substr(start, i - start));
            if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')
                ++i;
            start = i + 1;
        }
    }
    if (start < s.size())
        out.emplace_back(s.substr(start));
    return out;
}

std::string readFile(const std::string& path, size_t maxBytes)
{
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        fail(path, "is a folder, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(path, std::string("cannot open: ") + std::strerror(errno));
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    if (size < 0)
        fail(path, "cannot determine the file size");
    if (static_cast<size_t>(size) > maxBytes)
        fail(path, "file too large (" + std::to_string(size) + " bytes, limit " + std::to_string(maxBytes) + ")");
    in.seekg(0);
    std::string data(static_cast<size_t>(size), '\0');
    if (size > 0 && !in.read(data.data(), size))
        fail(path, "read error");
    return data;
}

std::string_view withoutByteOrderMark(std::string_view s)
{
    constexpr std::string_view utf8Bom = "\xEF\xBB\xBF";
    if (s.substr(0, utf8Bom.size()) == utf8Bom)
        s.remove_prefix(utf8Bom.size());
    return s;
}

std::string readTextFile(const std::string& path, size_t maxBytes)
{
    std::string data = readFile(path, maxBytes);
    auto startsWith = [&](std::string_view prefix) { return std::string_view(data).substr(0, prefix.size()) == prefix; };
    // UTF-32 first: its little-endian mark begins with UTF-16's.
    using namespace std::string_view_literals;
    if (startsWith("\xFF\xFE\0\0"sv) || startsWith("\0\0\xFE\xFF"sv))
        fail(path, "is UTF-32 text (it starts with a UTF-32 byte-order mark); save it as UTF-8");
    if (startsWith("\xFF\xFE"sv) || startsWith("\xFE\xFF"sv))
        fail(path, "is UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8");
    if (const size_t nul = data.find('\0'); nul != std::string::npos) {
        const int line = 1 + static_cast<int>(std::count(data.begin(), data.begin() + static_cast<ptrdiff_t>(nul), '\n'));
        fail(path, line, "holds a NUL byte: not a text file (or UTF-16 without a byte-order mark; save it as UTF-8)");
    }
    const size_t bom = data.size() - withoutByteOrderMark(data).size();
    data.erase(0, bom);
    return data;
}

} // namespace tyq::text
