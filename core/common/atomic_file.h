// Files that are either fully written or not at all: write to a temporary file beside the
// target, flush it to disk, then rename over the target. A crash (or kill -9) at any moment
// leaves the previous version or the new one, never a torn file.
#pragma once

#include <filesystem>
#include <string_view>

namespace tyq {

/// Atomically replaces `path` with `bytes`. Creates missing parent folders.
/// Throws tyq::Error naming the file on any failure (disk full, read-only folder, ...);
/// the previous content of `path` is then untouched and no temporary file is left behind.
void writeFileAtomically(const std::filesystem::path& path, std::string_view bytes);

} // namespace tyq
