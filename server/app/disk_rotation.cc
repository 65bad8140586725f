#include "server/app/disk_rotation.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/base/disk_space.h"
#include "common/event/event_format.h"
#include "server/app/disk_policy.h"
#include "server/app/retention_timer.h"
#include "server/app/rotate_plan.h"
#include "server/selfaudit/self_audit.h"
#include "server/store/committer.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

// Rounds per pass: between passes the committer stores what queued (the
// collector's own events, RETENTION_CUT among them).
constexpr int kRoundsPerPass = 8;
// How long a round waits for RocksDB to settle before reading the disk.
constexpr std::chrono::seconds kSettleTimeout{20};

// What RocksDB holds on the disk besides the events, for the log: the
// readings a cut is sized from move with it.
std::string DescribeEngineSpace(const Store& store) {
  std::string out;
  for (const auto& [name, value] : store.EngineStats()) {
    if (name != "wal_bytes" && name != "memtable_bytes" && name != "live_sst_bytes" &&
        name != "total_sst_bytes") {
      continue;
    }
    out += (out.empty() ? "" : ", ") + name + " " + DescribeBytes(value);
  }
  return out;
}

}  // namespace

void DiskRotation::Start() {
  if (queued_.exchange(true)) return;
  committer_->RunBetweenCommits([this] { Pass(); });
}

void DiskRotation::Pass() {
  bool more = false;
  // What RocksDB holds that is no event (its write-ahead logs) goes first:
  // it may be all that is needed.
  const uint64_t before = FreeDiskBytes(dir_).value_or(0);
  if (auto settled =
          store_->SettleAfterCuts(1, 0, kSettleTimeout, [this] { return committer_->stopping(); });
      !settled.ok()) {
    spdlog::warn("disk_full_action rotate: {}", settled.status().ToString());
  }
  spdlog::info("disk_full_action rotate: {} free, {} after a flush ({})", DescribeBytes(before),
               DescribeBytes(FreeDiskBytes(dir_).value_or(0)), DescribeEngineSpace(*store_));
  for (int i = 0; i < kRoundsPerPass && !committer_->stopping(); ++i) {
    const uint64_t free_bytes = FreeDiskBytes(dir_).value_or(0);
    if (free_bytes > target_bytes_) break;
    if (!Round(free_bytes)) break;
    more = i + 1 == kRoundsPerPass;
  }
  queued_.store(false);
  if (after_) after_();
  if (more) Start();
}

bool DiskRotation::Round(uint64_t free_bytes) {
  // One byte above the target is what the watch needs to let ingest resume.
  const uint64_t needed = target_bytes_ - free_bytes + 1;
  auto sizes = store_->ApproximateHostBytes();
  if (!sizes.ok()) {
    spdlog::error("disk_full_action rotate: {}", sizes.status().ToString());
    return false;
  }
  const RotatePlan plan = PlanRotateCuts(sizes.value(), needed);
  if (plan.cuts.empty()) {
    spdlog::error(
        "disk_full_action rotate: {} needed, nothing left to remove but each host's newest "
        "events; ingest stays held until space is freed",
        DescribeBytes(needed));
    return false;
  }
  spdlog::warn(
      "disk_full_action rotate: {} free, {} needed; cutting {} host(s), {} by estimate{} ({})",
      DescribeBytes(free_bytes), DescribeBytes(needed), plan.cuts.size(),
      DescribeBytes(plan.estimate_bytes),
      plan.covers ? "" : " (all but each host's newest events)", DescribeEngineSpace(*store_));
  uint64_t first_seq = 0, last_seq = 0, removed = 0;
  int64_t oldest_kept = 0;
  for (const RotateCut& next : plan.cuts) {
    auto cut = store_->ExpireHost(next.host, next.cut_us, kEarlyCutReason);
    if (!cut.ok()) {
      spdlog::error("disk_full_action rotate: {}", cut.status().ToString());
      audit_->Record(SelfEventKind::kStoreError, "",
                     "early retention cut failed: " + cut.status().ToString());
      return false;
    }
    const RetentionCut& c = cut.value();
    if (c.events == 0) continue;
    RecordRetentionCut(c, retention_, audit_);
    first_seq = removed == 0 ? c.first_seq : std::min(first_seq, c.first_seq);
    last_seq = std::max(last_seq, c.last_seq);
    removed += c.events;
  }
  // The time index keeps nothing older than the oldest event any host keeps.
  Status listed = store_->ListHosts([&oldest_kept](const v1::HostState& h) {
    const int64_t o = OldestKeptUs(h);
    if (o != 0 && (oldest_kept == 0 || o < oldest_kept)) oldest_kept = o;
  });
  if (listed.ok() && oldest_kept != 0) {
    if (Status s = store_->ExpireTimeIndex(oldest_kept); !s.ok()) {
      spdlog::warn("disk_full_action rotate: {}", s.ToString());
    }
  }
  if (removed == 0) {
    // A block straddling each cut (events received out of order) kept it all.
    spdlog::error("disk_full_action rotate: the cuts removed nothing; ingest stays held");
    return false;
  }
  // Read the disk again only once RocksDB is done with what the cuts set off.
  auto settled = store_->SettleAfterCuts(first_seq, last_seq, kSettleTimeout,
                                         [this] { return committer_->stopping(); });
  if (!settled.ok()) {
    spdlog::error("disk_full_action rotate: {}", settled.status().ToString());
    return false;
  }
  const uint64_t now_free = FreeDiskBytes(dir_).value_or(0);
  spdlog::info("disk_full_action rotate: {} events removed early, {} free {} ({})", removed,
               DescribeBytes(now_free),
               settled.value() ? "once the store settled" : "(the store still busy)",
               DescribeEngineSpace(*store_));
  // Cutting again is for a disk the cuts did not free enough, not for one
  // RocksDB has not given the cuts' space back to (too full to compact):
  // more cuts would remove events and free nothing more.
  const uint64_t gained = now_free > free_bytes ? now_free - free_bytes : 0;
  if (gained < plan.estimate_bytes / 4) {
    spdlog::error(
        "disk_full_action rotate: the cuts freed {} of the {} estimated; no further cut until "
        "the store gives it back; ingest stays held",
        DescribeBytes(gained), DescribeBytes(plan.estimate_bytes));
    return false;
  }
  return true;
}

}  // namespace trailkeep
