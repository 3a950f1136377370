#include "io/zip_reader.h"

#include "common/error.h"
#include "common/text.h"

#include <array>
#include <cstring>

namespace tyq {
namespace {

constexpr uint32_t kEndOfCentralDir = 0x06054b50;
constexpr uint32_t kZip64EndOfCentralDir = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;

// Bounds-checked little-endian reads over the archive bytes.
class Cursor {
public:
    Cursor(const std::string& bytes, const std::string& source) : bytes_(bytes), source_(source) {}

    void need(uint64_t offset, uint64_t count) const
    {
        if (offset > bytes_.size() || count > bytes_.size() - offset)
            throw Error(source_ + ": damaged zip archive (a record points past the end of the file)");
    }
    uint64_t le(uint64_t offset, int width) const
    {
        need(offset, static_cast<uint64_t>(width));
        uint64_t v = 0;
        for (int i = width - 1; i >= 0; --i)
            v = (v << 8) | static_cast<unsigned char>(bytes_[offset + static_cast<uint64_t>(i)]);
        return v;
    }
    uint16_t u16(uint64_t o) const { return static_cast<uint16_t>(le(o, 2)); }
    uint32_t u32(uint64_t o) const { return static_cast<uint32_t>(le(o, 4)); }
    uint64_t u64(uint64_t o) const { return le(o, 8); }

private:
    const std::string& bytes_;
    const std::string& source_;
};

} // namespace

uint32_t crc32(std::string_view data)
{
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    uint32_t crc = 0xFFFFFFFFu;
    for (unsigned char ch : data)
        crc = table[(crc ^ ch) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

ZipArchive::ZipArchive(const std::filesystem::path& path, uint64_t maxBytes)
    : source_(path.string()), bytes_(text::readFile(path.string(), maxBytes))
{
    parse();
}

ZipArchive::ZipArchive(std::string bytes, std::string source) : source_(std::move(source)), bytes_(std::move(bytes))
{
    parse();
}

void ZipArchive::parse()
{
    const Cursor in(bytes_, source_);
    if (bytes_.size() < 22)
        throw Error(source_ + ": not a zip archive (too short)");
    if (in.u32(0) != kLocalHeader)
        throw Error(source_ + ": not a zip archive (a PyTorch checkpoint saved before PyTorch 1.6, or not a checkpoint at all)");

    // The end-of-central-directory record sits in the last 64 KiB + 22 bytes.
    const uint64_t searchFrom = bytes_.size() > 65557 ? bytes_.size() - 65557 : 0;
    uint64_t eocd = UINT64_MAX;
    for (uint64_t pos = bytes_.size() - 22 + 1; pos-- > searchFrom;) {
        if (in.u32(pos) == kEndOfCentralDir) {
            eocd = pos;
            break;
        }
    }
    if (eocd == UINT64_MAX)
        throw Error(source_ + ": damaged zip archive (no central directory; the file may be truncated)");

    uint64_t count = in.u16(eocd + 10);
    uint64_t cdSize = in.u32(eocd + 12);
    uint64_t cdOffset = in.u32(eocd + 16);
    if ((count == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF) && eocd >= 20 &&
        in.u32(eocd - 20) == kZip64Locator) {
        const uint64_t z64 = in.u64(eocd - 20 + 8);
        if (in.u32(z64) != kZip64EndOfCentralDir)
            throw Error(source_ + ": damaged zip archive (bad zip64 record)");
        count = in.u64(z64 + 32);
        cdSize = in.u64(z64 + 40);
        cdOffset = in.u64(z64 + 48);
    }
    in.need(cdOffset, cdSize);
    if (count > cdSize / 46)
        throw Error(source_ + ": damaged zip archive (entry count does not fit the directory)");

    uint64_t pos = cdOffset;
    for (uint64_t i = 0; i < count; ++i) {
        if (in.u32(pos) != kCentralHeader)
            throw Error(source_ + ": damaged zip archive (bad central directory entry)");
        Entry entry;
        entry.method = in.u16(pos + 10);
        entry.crc = in.u32(pos + 16);
        uint64_t compressed = in.u32(pos + 20);
        uint64_t size = in.u32(pos + 24);
        const uint16_t nameLen = in.u16(pos + 28);
        const uint16_t extraLen = in.u16(pos + 30);
        const uint16_t commentLen = in.u16(pos + 32);
        uint64_t localOffset = in.u32(pos + 42);
        in.need(pos + 46, uint64_t(nameLen) + extraLen + commentLen);
        std::string name = bytes_.substr(pos + 46, nameLen);

        // zip64 extra field: the 64-bit values of the fields that hold 0xFFFFFFFF, in order.
        uint64_t extra = pos + 46 + nameLen;
        const uint64_t extraEnd = extra + extraLen;
        while (extra + 4 <= extraEnd) {
            const uint16_t id = in.u16(extra);
            const uint16_t len = in.u16(extra + 2);
            if (extra + 4 + len > extraEnd)
                break;
            if (id == 0x0001) {
                uint64_t field = extra + 4;
                auto take = [&](uint64_t& value) {
                    if (value == 0xFFFFFFFF && field + 8 <= extra + 4 + len) {
                        value = in.u64(field);
                        field += 8;
                    }
                };
                take(size);
                take(compressed);
                take(localOffset);
            }
            extra += 4 + uint64_t(len);
        }

        if (in.u32(localOffset) != kLocalHeader)
            throw Error(source_ + ": damaged zip archive (entry '" + name + "' has no local header)");
        entry.dataOffset = localOffset + 30 + in.u16(localOffset + 26) + in.u16(localOffset + 28);
        entry.size = entry.method == 0 ? size : compressed;
        in.need(entry.dataOffset, entry.size);
        if (!entries_.count(name))
            names_.push_back(name);
        entries_[name] = entry;
        pos += 46 + uint64_t(nameLen) + extraLen + commentLen;
    }
}

std::string_view ZipArchive::read(const std::string& name) const
{
    auto it = entries_.find(name);
    if (it == entries_.end())
        throw Error(source_ + ": the archive has no entry '" + name + "'");
    const Entry& e = it->second;
    if (e.method != 0)
        throw Error(source_ + ": entry '" + name + "' is compressed (method " + std::to_string(e.method) +
                    "); PyTorch archives store entries uncompressed");
    const std::string_view data(bytes_.data() + e.dataOffset, e.size);
    if (crc32(data) != e.crc)
        throw Error(source_ + ": entry '" + name + "' is corrupted (CRC mismatch)");
    return data;
}

} // namespace tyq
