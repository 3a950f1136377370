#include "io/npy.h"

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/text.h"

#include <ATen/ATen.h>

#include <cstring>
#include <map>
#include <optional>
#include <string>

namespace tyq {
namespace {

const std::map<at::ScalarType, std::string>& descriptors()
{
    static const std::map<at::ScalarType, std::string> d = {
        {at::kFloat, "<f4"}, {at::kDouble, "<f8"}, {at::kChar, "|i1"}, {at::kShort, "<i2"},
        {at::kInt, "<i4"},   {at::kLong, "<i8"},   {at::kByte, "|u1"}, {at::kBool, "|b1"},
    };
    return d;
}

constexpr size_t kMaxHeaderBytes = 10000;
constexpr size_t kMaxNpyDims = 64;

// The text after "'key':" in a header dict ("{'descr': '<f4', 'fortran_order': False, ...}"),
// leading spaces skipped; nullopt if the key is absent.
std::optional<std::string_view> headerValue(std::string_view header, std::string_view key)
{
    const std::string quoted = "'" + std::string(key) + "'";
    size_t pos = header.find(quoted);
    if (pos == std::string_view::npos)
        return std::nullopt;
    pos += quoted.size();
    while (pos < header.size() && header[pos] == ' ')
        ++pos;
    if (pos >= header.size() || header[pos] != ':')
        return std::nullopt;
    ++pos;
    while (pos < header.size() && header[pos] == ' ')
        ++pos;
    return header.substr(pos);
}

} // namespace

void writeNpy(const at::Tensor& tensor, const std::filesystem::path& path)
{
    const at::Tensor t = tensor.detach().cpu().contiguous();
    auto it = descriptors().find(t.scalar_type());
    if (it == descriptors().end())
        throw Error(path.string() + ": cannot write dtype " + std::string(c10::toString(t.scalar_type())) + " as .npy");
    std::string shape = "(";
    for (int64_t d = 0; d < t.dim(); ++d)
        shape += std::to_string(t.size(d)) + (t.dim() == 1 ? "," : d + 1 < t.dim() ? ", " : "");
    shape += ")";
    std::string header = "{'descr': '" + it->second + "', 'fortran_order': False, 'shape': " + shape + ", }";
    // Pad so that the data starts at a multiple of 64 bytes, ending the header with '\n'.
    const size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    std::string out("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(header.size() & 0xFF);
    out += static_cast<char>((header.size() >> 8) & 0xFF);
    out += header;
    out.append(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel()) * t.element_size());
    writeFileAtomically(path, out);
}

at::Tensor readNpy(const std::filesystem::path& path)
{
    return parseNpy(text::readFile(path.string()), path);
}

at::Tensor parseNpy(std::string_view data, const std::filesystem::path& path)
{
    if (data.size() < 10 || data.compare(0, 6, "\x93NUMPY") != 0)
        fail(path, "not a .npy file");
    const int major = static_cast<unsigned char>(data[6]);
    size_t headerLen = 0, start = 0;
    if (major == 1) {
        headerLen = static_cast<unsigned char>(data[8]) | (static_cast<size_t>(static_cast<unsigned char>(data[9])) << 8);
        start = 10;
    } else if (major == 2 || major == 3) {
        if (data.size() < 12)
            fail(path, "truncated header");
        headerLen = 0;
        for (int i = 3; i >= 0; --i)
            headerLen = (headerLen << 8) | static_cast<unsigned char>(data[8 + static_cast<size_t>(i)]);
        start = 12;
    } else {
        fail(path, "unsupported .npy version " + std::to_string(major));
    }
    if (headerLen > data.size() - start)
        fail(path, "truncated header");
    // NumPy itself refuses headers over 10,000 bytes unless told otherwise.
    if (headerLen > kMaxHeaderBytes)
        fail(path, "header of " + std::to_string(headerLen) + " bytes is too long (limit " +
                       std::to_string(kMaxHeaderBytes) + ")");
    const std::string_view header = data.substr(start, headerLen);
    const std::optional<std::string_view> descrValue = headerValue(header, "descr");
    const size_t descrEnd = descrValue && !descrValue->empty() && descrValue->front() == '\''
                                ? descrValue->find('\'', 1)
                                : std::string_view::npos;
    if (descrEnd == std::string_view::npos || descrEnd < 2)
        fail(path, "header has no descr");
    const std::string descr(descrValue->substr(1, descrEnd - 1));
    if (const auto fortran = headerValue(header, "fortran_order"); fortran && fortran->substr(0, 4) == "True")
        fail(path, "Fortran-order arrays are not supported");
    const std::optional<std::string_view> shapeValue = headerValue(header, "shape");
    if (!shapeValue || shapeValue->empty() || shapeValue->front() != '(' ||
        shapeValue->find(')') == std::string_view::npos)
        fail(path, "header has no shape");
    std::vector<int64_t> shape;
    for (const std::string& piece : text::split(shapeValue->substr(1, shapeValue->find(')') - 1), ',')) {
        if (piece.empty())
            continue;
        const auto v = text::parseInt(piece);
        if (!v || *v < 0)
            fail(path, "bad shape in header");
        if (shape.size() >= kMaxNpyDims)
            fail(path, "more than " + std::to_string(kMaxNpyDims) + " dimensions");
        shape.push_back(*v);
    }
    at::ScalarType dtype = at::kFloat;
    bool found = false;
    for (const auto& [type, d] : descriptors())
        if (d == descr || (d.substr(1) == descr.substr(1) && (descr[0] == '=' || descr[0] == '<' || descr[0] == '|'))) {
            dtype = type;
            found = true;
        }
    if (!found)
        fail(path, "unsupported dtype '" + descr + "'");
    int64_t numel = 1;
    for (int64_t s : shape) {
        if (s > 0 && numel > (int64_t(1) << 40) / s)
            fail(path, "array too large");
        numel *= s;
    }
    const size_t bytes = static_cast<size_t>(numel) * c10::elementSize(dtype);
    const size_t offset = start + headerLen;
    if (data.size() - offset < bytes)
        fail(path, "truncated data (" + std::to_string(data.size() - offset) + " of " + std::to_string(bytes) + " bytes)");
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (bytes > 0)
        std::memcpy(t.data_ptr(), data.data() + offset, bytes);
    return t;
}

} // namespace tyq
