// Shared by the fuzz targets: readers that take a path get the input written to a file in
// /dev/shm (memory, not disk), unique to the process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace tyq::fuzz {

/// A per-process scratch folder, created on first use.
inline const std::filesystem::path& scratchDir()
{
    static const std::filesystem::path dir = [] {
        const std::filesystem::path base =
            std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
        std::filesystem::path d = base / ("tyq-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}

/// Writes bytes to scratchDir()/name and returns the path.
inline std::filesystem::path writeScratch(const std::string& name, std::string_view bytes)
{
    const std::filesystem::path path = scratchDir() / name;
    if (path.has_parent_path())
        std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
}

inline std::string_view asText(const uint8_t* data, size_t size)
{
    return {reinterpret_cast<const char*>(data), size};
}

} // namespace tyq::fuzz
