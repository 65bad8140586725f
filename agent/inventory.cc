#include "agent/inventory.h"

#include <fstream>
#include <sstream>

#include <sys/stat.h>

namespace trailkeep::agent {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

InventoryWatcher::InventoryWatcher(std::vector<std::string> files)
    : files_(std::move(files)), stamps_(files_.size()) {}

std::optional<MessageParts> InventoryWatcher::Poll(int64_t now_us) {
  std::vector<Stamp> now(files_.size());
  for (size_t i = 0; i < files_.size(); ++i) {
    struct stat st {};
    if (::stat(files_[i].c_str(), &st) == 0) {
      now[i].mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      now[i].size = static_cast<int64_t>(st.st_size);
    }
  }
  if (!first_ && now == stamps_) return std::nullopt;
  first_ = false;
  stamps_ = std::move(now);
  const auto users =
      files_.size() > 0 ? ParseIdFile(ReadText(files_[0])) : std::map<uint64_t, std::string>{};
  const auto groups =
      files_.size() > 1 ? ParseIdFile(ReadText(files_[1])) : std::map<uint64_t, std::string>{};
  return InventoryParts(users, groups, now_us);
}

}  // namespace trailkeep::agent
