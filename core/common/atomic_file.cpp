#include "common/atomic_file.h"

#include "common/error.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace tyq {
namespace {

std::string lastError() { return std::strerror(errno); }

// Closes the descriptor and removes the temporary file unless released (after the rename).
class TempFile {
public:
    explicit TempFile(std::filesystem::path path) : path_(std::move(path)) {}
    ~TempFile()
    {
        if (fd_ >= 0)
            ::close(fd_);
        if (!released_)
            ::unlink(path_.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    int& fd() { return fd_; }
    const std::filesystem::path& path() const { return path_; }
    void release() { released_ = true; }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    bool released_ = false;
};

} // namespace

void writeFileAtomically(const std::filesystem::path& path, std::string_view bytes)
{
    const std::filesystem::path parent = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec)
        fail(path, "cannot create the folder " + parent.string() + ": " + ec.message());

    // Unique per process and call: two threads replacing the same file must not share one.
    static std::atomic<unsigned> counter{0};
    TempFile temp(parent / ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                            std::to_string(counter.fetch_add(1))));
    temp.fd() = ::open(temp.path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (temp.fd() < 0)
        fail(path, "cannot write: " + lastError());

    const char* data = bytes.data();
    size_t left = bytes.size();
    while (left > 0) {
        const ssize_t n = ::write(temp.fd(), data, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            fail(path, "cannot write: " + lastError());
        data += n;
        left -= static_cast<size_t>(n);
    }
    if (::fsync(temp.fd()) != 0)
        fail(path, "cannot flush to disk: " + lastError());
    if (::close(temp.fd()) != 0) {
        temp.fd() = -1;
        fail(path, "cannot write: " + lastError());
    }
    temp.fd() = -1;
    if (::rename(temp.path().c_str(), path.c_str()) != 0)
        fail(path, "cannot replace the file: " + lastError());
    temp.release();

    // Make the rename itself durable.
    const int dirFd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirFd >= 0) {
        ::fsync(dirFd);
        ::close(dirFd);
    }
}

} // namespace tyq
