#include "common/base/private_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace trailkeep {
namespace {

// Closes the descriptor on every path out of ReadPrivateFile.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status OpenError(const std::string& path, int err) {
  if (err == ENOENT) return Status::NotFound(path + " does not exist");
  return Status::IoError("cannot read " + path + ": " + std::strerror(err));
}

}  // namespace

std::string OctalMode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

Status CheckPrivateMode(const std::string& path, mode_t mode) {
  if ((mode & 077) == 0) return Status::Ok();
  return Status::InvalidArgument(path + " has mode " + OctalMode(mode) +
                                 ": a private key must not be readable or writable by group or "
                                 "others (chmod 600 " +
                                 path + ")");
}

Result<std::string> ReadPrivateFile(const std::string& path, bool require_private) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) return OpenError(path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return OpenError(path, errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + " is not a regular file");
  if (require_private) {
    if (Status s = CheckPrivateMode(path, st.st_mode); !s.ok()) return s;
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return OpenError(path, errno);
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status CheckPrivateFile(const std::string& path, uid_t owner, const std::string& owner_name) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return OpenError(path, errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + " is not a regular file");
  if (Status s = CheckPrivateMode(path, st.st_mode); !s.ok()) return s;
  if (st.st_uid != owner) {
    return Status::InvalidArgument(path + " belongs to " + UserName(st.st_uid) + ", not to " +
                                   owner_name +
                                   ", which trailkeepd runs as and reads it as after start-up "
                                   "(chown " +
                                   owner_name + " " + path + ")");
  }
  // Owner and mode can be right and the file still unreadable (mode 0200, a
  // folder on the way that the user cannot enter): open it to be sure.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) return OpenError(path, errno);
  return Status::Ok();
}

std::string UserName(uid_t uid) {
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<size_t>(size) : 16384);
  struct passwd pw {};
  struct passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return "uid " + std::to_string(uid);
}

}  // namespace trailkeep
