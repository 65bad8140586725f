// SpaceWatch: the warning before the store's disk is full (FAU_STG.3/LocSpace).
//
// Every interval it reads the free space of the store's file system
// (statvfs). Dropping below `warn_bytes` records STORAGE_LOW once, with the
// figures, and raises the low flag; rising above warn_bytes plus 10 % records
// STORAGE_RECOVERED and clears it, so a disk hovering at the level records
// one pair, not a flood. While the flag is up, port-60 sessions answer stored
// records DISKLOW instead of ACK, as auditd does past its space_left; commits
// go on until the store's own reserve, where DISKFULL takes over.
// warn_bytes 0 turns the watch off. Start() runs before the io_context does;
// Stop() may be called from any thread; the flag may be read from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace trailkeep {

class SelfAudit;

// The watch's decision, pure: whether the disk counts as low after reading
// `free_bytes`, given whether it was low before.
bool SpaceIsLow(bool was_low, uint64_t free_bytes, uint64_t warn_bytes);

class SpaceWatch {
 public:
  SpaceWatch(boost::asio::io_context& io, std::string dir, uint64_t warn_bytes, SelfAudit* audit,
             std::chrono::milliseconds interval = std::chrono::seconds(2));
  ~SpaceWatch();

  void Start();  // checks now, then every interval
  void Stop();

  std::shared_ptr<const std::atomic<bool>> low_flag() const { return low_; }
  uint64_t free_bytes() const { return free_.load(std::memory_order_relaxed); }

 private:
  void Check();
  void Arm();

  struct Timer;
  std::unique_ptr<Timer> timer_;
  const std::string dir_;
  const uint64_t warn_bytes_;
  SelfAudit* audit_;
  const std::chrono::milliseconds interval_;
  std::shared_ptr<std::atomic<bool>> low_ = std::make_shared<std::atomic<bool>>(false);
  std::atomic<uint64_t> free_{0};
};

}  // namespace trailkeep
