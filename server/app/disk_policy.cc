#include "server/app/disk_policy.h"

#include <charconv>
#include <cmath>

namespace trailkeep {
namespace {

constexpr uint64_t kMiB = 1u << 20;

struct Unit {
  std::string_view suffix;
  int shift;
};
// Longest suffixes first: "B" also ends "MiB".
constexpr Unit kUnits[] = {{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}};

}  // namespace

bool ParseDiskFullAction(std::string_view text, DiskFullAction* out) {
  if (text == "block") {
    *out = DiskFullAction::kBlock;
  } else if (text == "halt") {
    *out = DiskFullAction::kHalt;
  } else if (text == "rotate") {
    *out = DiskFullAction::kRotate;
  } else {
    return false;
  }
  return true;
}

const char* DiskFullActionName(DiskFullAction action) {
  switch (action) {
    case DiskFullAction::kBlock:
      return "block";
    case DiskFullAction::kHalt:
      return "halt";
    case DiskFullAction::kRotate:
      return "rotate";
  }
  return "block";
}

bool ParseDiskSize(std::string_view text, DiskSize* out, std::string* why) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text == "0") {
    *out = DiskSize{};
    return true;
  }
  if (!text.empty() && text.back() == '%') {
    text.remove_suffix(1);
    double p = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), p);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !(p >= 0) ||
        p > 50) {
      *why = quoted + " is not a percentage from 0% to 50% of the file system";
      return false;
    }
    *out = DiskSize{0, p};
    return true;
  }
  for (const Unit& u : kUnits) {
    if (text.size() <= u.suffix.size() || !text.ends_with(u.suffix)) continue;
    const std::string_view digits = text.substr(0, text.size() - u.suffix.size());
    uint64_t n = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size() ||
        (u.shift > 0 && n > (UINT64_MAX >> u.shift))) {
      break;
    }
    *out = DiskSize{n << u.shift, -1};
    return true;
  }
  *why = quoted +
         " is not a size: a whole number and B, KiB, MiB, GiB or TiB (\"256MiB\"), or a "
         "percentage of the file system (\"5%\")";
  return false;
}

uint64_t ResolveDiskSize(const DiskSize& size, uint64_t fs_bytes) {
  if (size.percent < 0) return size.bytes;
  return static_cast<uint64_t>(std::llround(static_cast<double>(fs_bytes) * size.percent / 100));
}

std::string DescribeBytes(uint64_t bytes) {
  if (bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  return std::to_string(bytes) + " bytes";
}

DiskLevels ResolveDiskLevels(const DiskSpaceConfig& config, uint64_t fs_bytes) {
  return DiskLevels{ResolveDiskSize(config.space_left, fs_bytes),
                    ResolveDiskSize(config.admin_space_left, fs_bytes),
                    ResolveDiskSize(config.reserve, fs_bytes)};
}

std::string CheckDiskLevels(const DiskLevels& l) {
  if (l.admin_bytes != 0 && l.admin_bytes <= l.reserve_bytes) {
    return "[store] admin_space_left (" + DescribeBytes(l.admin_bytes) +
           ") must be above [store] reserve (" + DescribeBytes(l.reserve_bytes) +
           "): below the reserve nothing can be stored, not even the DISK_FULL event";
  }
  if (l.warn_bytes != 0 && l.admin_bytes > l.warn_bytes) {
    return "[store] admin_space_left (" + DescribeBytes(l.admin_bytes) +
           ") must not be above [store] space_left (" + DescribeBytes(l.warn_bytes) +
           "): the warning comes first";
  }
  return "";
}

bool SpaceIsLow(bool was_low, uint64_t free_bytes, uint64_t level_bytes) {
  if (level_bytes == 0) return false;
  if (!was_low) return free_bytes < level_bytes;
  return free_bytes <= level_bytes + level_bytes / 10;  // hysteresis: 10 % above the level
}

}  // namespace trailkeep
