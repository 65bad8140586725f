// DiskRotation: [store] disk_full_action = "rotate". While the store's disk
// is at or below the target (admin_space_left + 10 %, where the space watch
// lets ingest resume; ingest is held meanwhile, as under "block"), a pass on
// the committer thread removes the oldest events early, only as much as is
// needed:
//   0. RocksDB's memtables are flushed first when the disk has room for
//      them: its write-ahead logs give their space back (up to hundreds of
//      MiB on a busy store), which may be all that is needed;
//   1. needed = target - free, from one reading of the disk, less what
//      earlier cuts have not given back yet; on a disk too full to flush,
//      when the logs would cover the rest, only what lets it flush;
//   2. the cuts are sized from RocksDB's estimate of each stored block
//      (Store::ApproximateHostBytes, PlanRotateCuts in rotate_plan.h):
//      oldest first over every host, the smallest that covers `needed`,
//      never a host's newest event;
//   3. after the cuts the store settles (Store::SettleAfterCuts: files
//      holding only removed blocks dropped, the rest of the range compacted
//      when there is room, no flush or compaction running) before the disk
//      is read again;
//   4. cuts RocksDB has not given back (it frees a block only by dropping
//      or rewriting a whole file) are awaited while they cover what is
//      needed, a pass every 2 s, for at most 30 s before the next cut
//      reaches further; a disk still at or below the target is cut again.
// Each cut is a RETENTION_CUT with reason "disk_full_rotate"
// (RecordRetentionCut), and the host's HostState names its last cut early
// (docs/formats/record_store.md, "Retention"), so `trailkeepd verify` and
// `hosts` tell it from a policy cut and from a missing range.
//
// Concurrency: Start() from any thread; the pass runs on the committer
// thread ahead of queued batches (Committer::RunBetweenCommits): a commit
// refused below the reserve waits for the space the pass frees. A pass
// gives up when the committer stops.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace trailkeep {

class Committer;
class SelfAudit;
class Store;

class DiskRotation {
 public:
  // `dir`: the store's folder (its disk is measured); `target_bytes`: the
  // free space a pass stops above; `retention`: the policy as written, for
  // the events; `after`: runs on the committer thread after each pass (the
  // watch checks again). All must outlive this.
  DiskRotation(Store* store, Committer* committer, SelfAudit* audit, std::string dir,
               uint64_t target_bytes, std::string retention, std::function<void()> after)
      : store_(store),
        committer_(committer),
        audit_(audit),
        dir_(std::move(dir)),
        target_bytes_(target_bytes),
        retention_(std::move(retention)),
        after_(std::move(after)) {}

  // Queues a pass unless one is queued already.
  void Start();

 private:
  void Pass();
  // Store::SettleAfterCuts for [first_seq, last_seq] (none when first >
  // last: a flush), a failure only logged: the disk is read again anyway.
  void Settle(uint64_t first_seq, uint64_t last_seq);
  // One round: plan, cut, settle. False when nothing more can be done now.
  bool Round(uint64_t free_bytes);
  // True when earlier cuts not yet given back cover what is needed and have
  // not been held past the patience: no new cut this pass.
  bool AwaitPending(uint64_t free_bytes);

  // Cuts made whose space RocksDB has not given back yet (committer thread).
  struct Pending {
    uint64_t bytes = 0;  // their estimate, less what the disk gained since
    uint64_t first_seq = 0, last_seq = 0;
    uint64_t free_after = 0;                      // the last reading
    std::chrono::steady_clock::time_point since;  // the last progress
  };
  Pending pending_;
  // Start() does nothing before this (steady_clock ticks): set while
  // pending space is awaited.
  std::atomic<int64_t> hold_until_{0};

  Store* const store_;
  Committer* const committer_;
  SelfAudit* const audit_;
  const std::string dir_;
  const uint64_t target_bytes_;
  const std::string retention_;
  const std::function<void()> after_;
  std::atomic<bool> queued_{false};
};

}  // namespace trailkeep
