#include "core/file_io.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace abis {
namespace {

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

Result<std::vector<std::uint8_t>> ReadFileBytes(const std::string& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFoundError("no such file: " + path);
    return UnavailableError("cannot open " + path + ": " + ErrnoText());
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    ::close(fd);
    return UnavailableError("cannot stat " + path + ": " + ErrnoText());
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return InvalidArgumentError("not a regular file: " + path);
  }
  if (static_cast<std::size_t>(info.st_size) > max_bytes) {
    ::close(fd);
    return InvalidArgumentError("file too large (" + std::to_string(info.st_size) +
                                " bytes, limit " + std::to_string(max_bytes) + "): " + path);
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(info.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      ::close(fd);
      return UnavailableError("read failed for " + path);
    }
    done += static_cast<std::size_t>(got);
  }
  ::close(fd);
  return bytes;
}

Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  std::string temp_path = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return UnavailableError("cannot create " + temp_path + ": " + ErrnoText());
  std::size_t done = 0;
  while (done < contents.size()) {
    ssize_t put = ::write(fd, contents.data() + done, contents.size() - done);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) {
      ::close(fd);
      ::unlink(temp_path.c_str());
      return UnavailableError("write failed for " + temp_path + ": " + ErrnoText());
    }
    done += static_cast<std::size_t>(put);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(temp_path.c_str());
    return UnavailableError("cannot flush " + temp_path);
  }
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    ::unlink(temp_path.c_str());
    return UnavailableError("cannot rename to " + path + ": " + ErrnoText());
  }
  return Status::Ok();
}

}  // namespace abis
