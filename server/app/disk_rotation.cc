#include "server/app/disk_rotation.h"

#include <vector>

#include <spdlog/spdlog.h>

#include "common/base/disk_space.h"
#include "common/event/event_format.h"
#include "server/app/disk_policy.h"
#include "server/app/retention_timer.h"
#include "server/selfaudit/self_audit.h"
#include "server/store/committer.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

// Cuts per pass: the committer stores what queued between two passes.
constexpr int kCutsPerPass = 32;

}  // namespace

void DiskRotation::Start() {
  if (queued_.exchange(true)) return;
  committer_->RunInOrder([this] { Pass(); });
}

void DiskRotation::Pass() {
  bool more = false;
  for (int i = 0; i < kCutsPerPass; ++i) {
    if (FreeDiskBytes(dir_).value_or(0) > target_bytes_) break;
    std::vector<HostAge> hosts;
    Status listed = store_->ListHosts([&hosts](const v1::HostState& h) {
      hosts.push_back({h.name(), OldestKeptUs(h), h.last_seen_us()});
    });
    const RotateCut next = listed.ok() ? PickRotateCut(hosts) : RotateCut{};
    if (!listed.ok() || next.host.empty()) {
      spdlog::error(
          "disk_full_action rotate: {}; ingest stays held until space is freed",
          listed.ok() ? "nothing left to remove but each host's newest events" : listed.ToString());
      break;
    }
    auto cut = store_->ExpireHost(next.host, next.cut_us, kEarlyCutReason);
    if (!cut.ok()) {
      spdlog::error("disk_full_action rotate: {}", cut.status().ToString());
      audit_->Record(SelfEventKind::kStoreError, "",
                     "early retention cut failed: " + cut.status().ToString());
      break;
    }
    if (cut.value().events != 0) RecordRetentionCut(cut.value(), retention_, audit_);
    more = i + 1 == kCutsPerPass;
  }
  // The time index keeps nothing older than the oldest event any host keeps.
  int64_t oldest = 0;
  Status listed = store_->ListHosts([&oldest](const v1::HostState& h) {
    const int64_t o = OldestKeptUs(h);
    if (o != 0 && (oldest == 0 || o < oldest)) oldest = o;
  });
  if (listed.ok() && oldest != 0) {
    if (Status s = store_->ExpireTimeIndex(oldest); !s.ok()) {
      spdlog::warn("disk_full_action rotate: {}", s.ToString());
    }
  }
  queued_.store(false);
  if (after_) after_();
  if (more) Start();
}

}  // namespace trailkeep
