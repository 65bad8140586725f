#include "common/base/disk_space.h"

#include <sys/statvfs.h>

namespace trailkeep {
namespace {

std::optional<struct statvfs> StatFs(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return std::nullopt;
  return st;
}

}  // namespace

std::optional<uint64_t> FreeDiskBytes(const std::string& path) {
  const auto st = StatFs(path);
  if (!st) return std::nullopt;
  return static_cast<uint64_t>(st->f_bavail) * st->f_frsize;
}

std::optional<uint64_t> DiskSizeBytes(const std::string& path) {
  const auto st = StatFs(path);
  if (!st) return std::nullopt;
  return static_cast<uint64_t>(st->f_blocks) * st->f_frsize;
}

}  // namespace trailkeep
