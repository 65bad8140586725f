#include "agent/posix_file.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include "agent/unique_fd.h"

namespace trailkeep::agent {

std::string ErrnoMessage(const std::string& what) { return what + ": " + std::strerror(errno); }

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(ErrnoMessage("write"));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status FsyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Status::IoError(ErrnoMessage("open " + dir));
  if (::fsync(fd.get()) != 0) return Status::IoError(ErrnoMessage("fsync " + dir));
  return Status::Ok();
}

Result<std::string> ReadWholeFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::NotFound(path);
    return Status::IoError(ErrnoMessage("open " + path));
  }
  std::string data;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(ErrnoMessage("read " + path));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

Status ReplaceFile(const std::string& dir, const std::string& name, const std::string& tmp_name,
                   std::string_view data) {
  const std::string tmp = dir + "/" + tmp_name;
  const std::string final_path = dir + "/" + name;
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) return Status::IoError(ErrnoMessage("open " + tmp));
    Status s = WriteAll(fd.get(), data);
    if (!s.ok()) return s;
    if (::fsync(fd.get()) != 0) return Status::IoError(ErrnoMessage("fsync " + tmp));
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    return Status::IoError(ErrnoMessage("rename " + tmp));
  }
  return FsyncDir(dir);
}

}  // namespace trailkeep::agent
