// A small, strict reader of the uncompressed zip archives that torch.save and torch::pickle_save
// write. Every size and offset is checked against the file before use, so a damaged or hostile
// archive is refused with a message instead of crashing or allocating without bound.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tyq {

class ZipArchive {
public:
    /// Reads the file (at most maxBytes) and its central directory. Throws tyq::Error naming it.
    explicit ZipArchive(const std::filesystem::path& path, uint64_t maxBytes = uint64_t(4) << 30);
    /// Parses archive bytes held in memory; `source` names them in errors.
    ZipArchive(std::string bytes, std::string source);

    /// Entry names in archive order.
    const std::vector<std::string>& names() const { return names_; }
    bool contains(const std::string& name) const { return entries_.count(name) > 0; }
    /// The stored bytes of an entry, CRC-checked. Throws tyq::Error if missing or compressed.
    std::string_view read(const std::string& name) const;
    const std::string& source() const { return source_; }

private:
    struct Entry {
        uint64_t dataOffset = 0;
        uint64_t size = 0;
        uint32_t crc = 0;
        uint16_t method = 0;
    };
    void parse();

    std::string source_;
    std::string bytes_;
    std::vector<std::string> names_;
    std::map<std::string, Entry> entries_;
};

/// CRC-32 (IEEE) as zip uses it.
uint32_t crc32(std::string_view data);

} // namespace tyq
