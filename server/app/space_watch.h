// SpaceWatch: the store's disk against the levels of the disk-full policy
// (server/app/disk_policy.h; FAU_STG.3/LocSpace, FAU_STG.4).
//
// Every interval it reads the free space of the store's file system
// (statvfs) and compares it with two levels, each with its own flag:
//   - warn_bytes (space_left): below it STORAGE_LOW, above it again
//     STORAGE_RECOVERED. While the low flag is up, port-60 sessions answer
//     stored records DISKLOW, as auditd does past its space_left.
//   - admin_bytes (admin_space_left): below it DISK_FULL (free bytes, level,
//     action), then `on_full`; above it again DISK_SPACE_RECOVERED (how long,
//     and the hooks' summary fields, such as UDP datagrams dropped), then
//     `on_recovered`. The full flag is what ingest consults under "block".
// A level is left only 10 % above it, so a disk hovering at a level records
// one pair, not a flood. Each event is recorded once per crossing.
// Start() runs before the io_context does; Stop() may be called from any
// thread; the flags may be read from any thread; hooks run on the watch's
// strand and must not block.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/app/disk_policy.h"

namespace boost::asio {
class io_context;
}

namespace trailkeep {

class SelfAudit;

struct SpaceWatchHooks {
  std::function<void(uint64_t free_bytes)> on_full;
  std::function<void(uint64_t free_bytes)> on_recovered;
  // Extra fields of DISK_SPACE_RECOVERED: what the episode cost (UDP drops).
  std::function<std::vector<std::pair<std::string, std::string>>()> recovered_fields;
  // At each check after on_full while the disk stays below the level (rotate
  // tries again: its last pass may have stopped short).
  std::function<void(uint64_t free_bytes)> still_full;
};

class SpaceWatch {
 public:
  SpaceWatch(boost::asio::io_context& io, std::string dir, DiskLevels levels, DiskFullAction action,
             SelfAudit* audit, std::chrono::milliseconds interval = std::chrono::seconds(2));
  ~SpaceWatch();

  // Before Start().
  void SetHooks(SpaceWatchHooks hooks) { hooks_ = std::move(hooks); }
  void Start();  // checks now, then every interval
  void Stop();
  // Checks again soon (after rotate removed data); any thread.
  void CheckSoon();

  std::shared_ptr<const std::atomic<bool>> low_flag() const { return low_; }
  std::shared_ptr<const std::atomic<bool>> full_flag() const { return full_; }
  uint64_t free_bytes() const { return free_.load(std::memory_order_relaxed); }
  const DiskLevels& levels() const { return levels_; }

 private:
  void Check();
  void Arm();
  void RecordLow(bool low, uint64_t free_bytes);
  void RecordFull(bool full, uint64_t free_bytes);

  struct Timer;
  std::unique_ptr<Timer> timer_;
  const std::string dir_;
  const DiskLevels levels_;
  const DiskFullAction action_;
  SelfAudit* audit_;
  const std::chrono::milliseconds interval_;
  SpaceWatchHooks hooks_;
  std::shared_ptr<std::atomic<bool>> low_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<bool>> full_ = std::make_shared<std::atomic<bool>>(false);
  std::atomic<uint64_t> free_{0};
  std::chrono::steady_clock::time_point full_since_{};  // on the strand
};

}  // namespace trailkeep
