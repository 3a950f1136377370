#include "common/error.h"

namespace tyq {

std::string located(const std::filesystem::path& file, int line, const std::string& problem)
{
    std::string where = file.string();
    if (line > 0)
        where += ":" + std::to_string(line);
    return where + ": " + problem;
}

void fail(const std::filesystem::path& file, int line, const std::string& problem)
{
    throw Error(located(file, line, problem));
}

void fail(const std::filesystem::path& file, const std::string& problem)
{
    throw Error(located(file, 0, problem));
}

} // namespace tyq
