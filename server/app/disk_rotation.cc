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
// How long earlier cuts may keep their space (RocksDB frees a cut's blocks
// only by dropping or rewriting whole files) before more is cut, and how
// often a pass runs meanwhile.
constexpr std::chrono::seconds kPendingPatience{30};
constexpr std::chrono::seconds kPendingRecheck{2};

struct EngineSpace {
  uint64_t wal_bytes = 0;
  uint64_t memtable_bytes = 0;
};

EngineSpace ReadEngineSpace(const Store& store) {
  EngineSpace out;
  for (const auto& [name, value] : store.EngineStats()) {
    if (name == "wal_bytes") out.wal_bytes = value;
    if (name == "memtable_bytes") out.memtable_bytes = value;
  }
  return out;
}

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
  // While earlier cuts' space is awaited, the watch's next check starts
  // the next pass, not the check right after this one.
  if (std::chrono::steady_clock::now().time_since_epoch().count() < hold_until_.load()) return;
  if (queued_.exchange(true)) return;
  committer_->RunBetweenCommits([this] { Pass(); });
}

void DiskRotation::Settle(uint64_t first_seq, uint64_t last_seq) {
  if (auto settled = store_->SettleAfterCuts(first_seq, last_seq, kSettleTimeout,
                                             [this] { return committer_->stopping(); });
      !settled.ok()) {
    spdlog::warn("disk_full_action rotate: {}", settled.status().ToString());
  }
}

void DiskRotation::Pass() {
  bool more = false;
  // What RocksDB holds that is no event (its write-ahead logs) goes first:
  // it may be all that is needed.
  const uint64_t before = FreeDiskBytes(dir_).value_or(0);
  Settle(1, 0);
  spdlog::info("disk_full_action rotate: {} free, {} after a flush ({})", DescribeBytes(before),
               DescribeBytes(FreeDiskBytes(dir_).value_or(0)), DescribeEngineSpace(*store_));
  for (int i = 0; i < kRoundsPerPass && !committer_->stopping(); ++i) {
    const uint64_t free_bytes = FreeDiskBytes(dir_).value_or(0);
    if (free_bytes > target_bytes_) {
      pending_ = {};  // the episode is over
      break;
    }
    if (AwaitPending(free_bytes)) break;
    if (!Round(free_bytes)) break;
    more = i + 1 == kRoundsPerPass;
  }
  queued_.store(false);
  if (after_) after_();
  if (more) Start();
}

bool DiskRotation::AwaitPending(uint64_t free_bytes) {
  const auto now = std::chrono::steady_clock::now();
  if (pending_.bytes == 0) return false;
  // What the disk gained since the last reading came from earlier cuts.
  if (free_bytes > pending_.free_after) {
    pending_.bytes -= std::min(pending_.bytes, free_bytes - pending_.free_after);
    pending_.since = now;  // progress
  }
  pending_.free_after = free_bytes;
  const uint64_t needed = target_bytes_ - free_bytes + 1;
  if (pending_.bytes < needed || now - pending_.since >= kPendingPatience) {
    // Not enough is pending, or it stays held: the next cut reaches further
    // (on a disk too full to rewrite a file, until whole files can go).
    pending_.bytes = 0;
    return false;
  }
  // Try again to give it back (a compaction the disk had no room for may
  // fit now), then wait for the watch's next check.
  Settle(pending_.first_seq, pending_.last_seq);
  spdlog::info(
      "disk_full_action rotate: {} free, {} needed, {} of earlier cuts not yet given back: no "
      "new cut for now",
      DescribeBytes(free_bytes), DescribeBytes(needed), DescribeBytes(pending_.bytes));
  hold_until_.store((now + kPendingRecheck).time_since_epoch().count());
  return true;
}

bool DiskRotation::Round(uint64_t free_bytes) {
  // One byte above the target is what the watch needs to let ingest resume.
  uint64_t needed = target_bytes_ - free_bytes + 1;
  // A disk too full for the pass's flush still has the write-ahead logs to
  // give back: when they would cover the rest, cut only what lets the
  // memtables flush (the settle after the cut flushes).
  const EngineSpace engine = ReadEngineSpace(*store_);
  if (free_bytes <= engine.memtable_bytes + kFlushSlackBytes &&
      free_bytes + engine.wal_bytes > target_bytes_ + engine.memtable_bytes) {
    needed = engine.memtable_bytes + kFlushSlackBytes - free_bytes + 1;
  }
  // Earlier cuts not yet given back count (AwaitPending left less than
  // `needed` of them).
  needed -= std::min(needed - 1, pending_.bytes);
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
      DescribeBytes(plan.estimate_bytes), plan.covers ? "" : " (all but each host's newest events)",
      DescribeEngineSpace(*store_));
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
  // What the cuts have not given back yet is counted against what the next
  // rounds need, so a reading that has not moved does not cut again.
  if (gained < plan.estimate_bytes) {
    if (pending_.bytes == 0) {
      pending_.first_seq = first_seq;
      pending_.since = std::chrono::steady_clock::now();
    }
    pending_.first_seq = std::min(pending_.first_seq, first_seq);
    pending_.last_seq = std::max(pending_.last_seq, last_seq);
    pending_.bytes += plan.estimate_bytes - gained;
    pending_.free_after = now_free;
  }
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
