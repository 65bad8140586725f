// The disk-full policy's decisions (docs/configuration.md, [store]), pure so
// that they are tested without a disk: the sizes an operator writes
// ("256MiB", "5%"), the levels they resolve to on the store's file system
// and what those levels allow (which data `rotate` removes: rotate_plan.h).
//
// Three levels of free space on the store's disk, from the highest:
//   space_left        warning: STORAGE_LOW, port-60 records answered DISKLOW
//   admin_space_left  disk_full_action: block (default), halt or rotate
//   reserve           the store refuses commits below it (RocksDB must never
//                     meet ENOSPC), whatever the action
// Each level is crossed downwards below it and upwards only 10 % above it
// (SpaceIsLow), so a disk hovering at a level records one pair of events.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace trailkeep {

enum class DiskFullAction {
  kBlock,   // stop taking data from every source until space returns
  kHalt,    // record, flush and exit with kExitDiskFull
  kRotate,  // remove the oldest data early until space returns
};

// Exit status of a collector halted by disk_full_action = "halt"; the
// systemd unit lists it in RestartPreventExitStatus= (no restart loop).
inline constexpr int kExitDiskFull = 3;

bool ParseDiskFullAction(std::string_view text, DiskFullAction* out);
const char* DiskFullActionName(DiskFullAction action);

// A size as configured: bytes, or a percentage of the file system's size.
struct DiskSize {
  uint64_t bytes = 0;
  double percent = -1;  // >= 0: a percentage, `bytes` unused
  bool operator==(const DiskSize&) const = default;
};

// "0", "4096B", "512KiB", "256MiB", "2GiB", "1TiB" (binary units only, an
// integer count) or "5%" (0 to 50, decimals allowed). False with *why set
// when the text is none of these.
bool ParseDiskSize(std::string_view text, DiskSize* out, std::string* why);
// Bytes on a file system of `fs_bytes`.
uint64_t ResolveDiskSize(const DiskSize& size, uint64_t fs_bytes);
// "256 MiB" (whole MiB) or "1234567 bytes": for messages.
std::string DescribeBytes(uint64_t bytes);

// [store] space_left, admin_space_left, reserve, disk_full_action.
struct DiskSpaceConfig {
  DiskSize space_left{256u << 20};       // 0: no warning
  DiskSize admin_space_left{64u << 20};  // 0: no action (commits stop at the reserve)
  DiskSize reserve{16u << 20};
  DiskFullAction action = DiskFullAction::kBlock;
};

// The levels in bytes on one file system.
struct DiskLevels {
  uint64_t warn_bytes = 0;
  uint64_t admin_bytes = 0;
  uint64_t reserve_bytes = 0;
};
DiskLevels ResolveDiskLevels(const DiskSpaceConfig& config, uint64_t fs_bytes);
// "" when the levels are usable, else why not: the action must happen
// while commits still work (admin_space_left above the reserve) and not
// before the warning (at or below space_left, when both are on).
std::string CheckDiskLevels(const DiskLevels& levels);

// Whether the disk counts as below `level_bytes` after reading `free_bytes`,
// given whether it was before: below it to enter, more than 10 % above it
// to leave. A level of 0 is never reached.
bool SpaceIsLow(bool was_low, uint64_t free_bytes, uint64_t level_bytes);

}  // namespace trailkeep
