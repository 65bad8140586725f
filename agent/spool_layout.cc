#include "agent/spool_layout.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include <dirent.h>

#include "agent/posix_file.h"

namespace trailkeep::agent {
namespace {

constexpr std::string_view kSegPrefix = "seg-";
constexpr std::string_view kSegSuffix = ".tks";
constexpr size_t kSeqDigits = 20;

bool IsSegmentName(std::string_view name) {
  return name.size() == kSegPrefix.size() + kSeqDigits + kSegSuffix.size() &&
         name.substr(0, kSegPrefix.size()) == kSegPrefix &&
         name.substr(name.size() - kSegSuffix.size()) == kSegSuffix;
}

}  // namespace

std::string SpoolSegmentPath(const std::string& dir, uint64_t first_seq) {
  char name[64];
  std::snprintf(name, sizeof name, "seg-%020llu.tks", static_cast<unsigned long long>(first_seq));
  return dir + "/" + name;
}

Result<std::vector<SpoolSegment>> ListSpoolSegments(const std::string& dir) {
  std::vector<SpoolSegment> segments;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return Status::IoError(ErrnoMessage("cannot list " + dir));
  while (dirent* de = ::readdir(d.get())) {
    const std::string_view name = de->d_name;
    if (!IsSegmentName(name)) continue;
    SpoolSegment seg;
    seg.first_seq =
        std::strtoull(std::string(name.substr(kSegPrefix.size(), kSeqDigits)).c_str(), nullptr, 10);
    seg.path = dir + "/" + std::string(name);
    segments.push_back(std::move(seg));
  }
  std::sort(segments.begin(), segments.end(),
            [](const SpoolSegment& a, const SpoolSegment& b) { return a.first_seq < b.first_seq; });
  return segments;
}

}  // namespace trailkeep::agent
