#include "server/app/file_access.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base/private_file.h"

namespace trailkeep {
namespace {

namespace fs = std::filesystem;

std::string ChownAdvice(const std::string& dir, const FileOwner& owner) {
  return "chown -R " + owner.name + (owner.group.empty() ? "" : ":" + owner.group) + " " + dir;
}

// A probe file: the one sure answer to "can we create files here", whatever
// the mode bits, ACLs or read-only mounts say.
Status CheckWritable(const std::string& dir, const std::string& data_dir, const FileOwner& owner) {
  const std::string probe = dir + "/.trailkeepd-write-test";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return Status::IoError(dir + " is not writable by " + owner.name +
                           ", which trailkeepd runs as (" + std::strerror(errno) +
                           "): " + ChownAdvice(data_dir, owner));
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return Status::Ok();
}

}  // namespace

// Root reads every file: only a non-root owner must own its keys.
Status CheckPrivateKey(const std::string& path, const FileOwner& owner) {
  if (owner.uid == 0) return ReadPrivateFile(path).status();
  return CheckPrivateFile(path, owner.uid, owner.name);
}

std::vector<std::string> CheckPrivateKeys(const ServerConfig& config, const FileOwner& owner) {
  std::vector<std::string> problems;
  auto check = [&](const std::string& what, const std::string& path) {
    if (path.empty()) return;
    if (Status s = CheckPrivateKey(path, owner); !s.ok())
      problems.push_back(what + ": " + s.message());
  };
  check("tls.key_file", config.syslog.tls.key_file);
  for (const auto& t : config.tunnels)
    check("tunnel " + t.name + " private_key_file", t.private_key_file);
  if (!config.keys_dir.empty()) {
    std::error_code ec;
    if (fs::exists(config.keys_dir, ec)) {
      fs::directory_iterator it(config.keys_dir, ec);
      if (ec) {
        problems.push_back("agents.keys_dir: cannot read " + config.keys_dir + ": " + ec.message());
      }
      for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        if (it->is_directory(ec)) continue;
        check("agents.keys_dir", it->path().string());
      }
    } else if (ec) {
      problems.push_back("agents.keys_dir: cannot read " + config.keys_dir + ": " + ec.message());
    }
  }
  return problems;
}

Status PrepareDataDir(const std::string& data_dir, const FileOwner& owner) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) {
    return Status::IoError("cannot create data_dir " + data_dir + ": " + ec.message() +
                           " (trailkeepd runs as " + owner.name + ": create it owned by " +
                           owner.name + ")");
  }
  if (Status s = CheckWritable(data_dir, data_dir, owner); !s.ok()) return s;
  const std::string store = data_dir + "/store";
  if (!fs::exists(store, ec)) return Status::Ok();
  if (Status s = CheckWritable(store, data_dir, owner); !s.ok()) return s;
  if (owner.uid == 0) return Status::Ok();
  std::string first;
  size_t others = 0;
  for (auto it = fs::recursive_directory_iterator(store, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || st.st_uid == owner.uid) continue;
    if (first.empty()) {
      first = it->path().string() + " belongs to " + UserName(st.st_uid);
    } else {
      ++others;
    }
  }
  if (ec) return Status::IoError("cannot list " + store + ": " + ec.message());
  if (first.empty()) return Status::Ok();
  return Status::IoError(first + (others > 0 ? " (and " + std::to_string(others) + " more)" : "") +
                         ", not to " + owner.name +
                         ", which trailkeepd runs as: " + ChownAdvice(data_dir, owner));
}

Status CheckDataDirCreatable(const std::string& data_dir, const FileOwner& owner) {
  std::error_code ec;
  if (fs::exists(data_dir, ec)) {
    if (!fs::is_directory(data_dir, ec)) {
      return Status::InvalidArgument("data_dir " + data_dir + " is not a folder");
    }
    return CheckWritable(data_dir, data_dir, owner);
  }
  // The first missing folder on the way, made and removed again: only mkdir
  // itself knows (read-only mounts, /proc, ACLs).
  fs::path missing = fs::path(data_dir).lexically_normal();
  while (missing.has_parent_path() && missing.parent_path() != missing &&
         !fs::exists(missing.parent_path(), ec)) {
    missing = missing.parent_path();
  }
  if (::mkdir(missing.c_str(), 0700) != 0) {
    return Status::IoError("cannot create data_dir " + data_dir + ": " + missing.string() + ": " +
                           std::strerror(errno));
  }
  ::rmdir(missing.c_str());
  return Status::Ok();
}

Status CheckStartupFiles(const ServerConfig& config, const FileOwner& owner) {
  std::string problems;
  if (Status s = PrepareDataDir(config.data_dir, owner); !s.ok()) problems = s.message();
  for (const auto& p : CheckPrivateKeys(config, owner)) {
    problems += (problems.empty() ? "" : "\n") + p;
  }
  return problems.empty() ? Status::Ok() : Status::InvalidArgument(problems);
}

}  // namespace trailkeep
