#include "server/app/retention_timer.h"

#include <spdlog/spdlog.h>

#include "common/base/bytes.h"
#include "common/base/time_format.h"
#include "server/selfaudit/self_audit.h"
#include "server/store/committer.h"

namespace trailkeep {

void RetentionTimer::Start() {
  Queue();
  Arm();
}

void RetentionTimer::Arm() {
  timer_.expires_after(std::chrono::microseconds(policy_.CheckIntervalUs()));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    Queue();
    Arm();
  });
}

void RetentionTimer::Queue() {
  committer_->RunInOrder([this] {
    auto cuts = RunRetentionPass(store_, policy_, clock_->NowMicros());
    if (!cuts.ok()) {
      spdlog::error("retention: {}", cuts.status().ToString());
      audit_->Record(SelfEventKind::kStoreError, "",
                     "retention pass failed: " + cuts.status().ToString());
      return;
    }
    for (const RetentionCut& c : cuts.value()) {
      RecordRetentionCut(c, FormatRetention(policy_.ForHost(c.host)), audit_);
    }
  });
}

void RecordRetentionCut(const RetentionCut& c, const std::string& retention, SelfAudit* audit) {
  const std::string why = c.reason.empty() ? "retention " + retention
                                           : "early, to free the store's disk: " + c.reason +
                                                 "; retention " + retention;
  spdlog::info("retention: {} events of {} received before {} removed ({})", c.events, c.host,
               FormatRfc3339Micros(c.cut_us), why);
  if (!c.index_compaction_error.empty()) {
    spdlog::warn("retention: the cut of {} stands; its expired index keys leave at a later "
                 "compaction ({})",
                 c.host, c.index_compaction_error);
  }
  std::vector<std::pair<std::string, std::string>> fields = {
      {"host", c.host},
      {"retention", retention},
      {"cut", FormatRfc3339Micros(c.cut_us)},
      {"events", std::to_string(c.events)},
      {"first_seq", std::to_string(c.first_seq)},
      {"last_seq", std::to_string(c.last_seq)},
      {"oldest_removed", FormatRfc3339Micros(c.oldest_removed_us)},
      {"newest_removed", FormatRfc3339Micros(c.newest_removed_us)},
      {"chain_epoch", std::to_string(c.chain_epoch)},
      {"chain_seq", std::to_string(c.chain_seq)},
      // What the seal verifier checks the cut by (docs/formats/seal.md).
      {"cut_us", std::to_string(c.cut_us)},
      {"seal_chain", std::to_string(c.seal_chain)},
      {"seal_seq", std::to_string(c.seal_seq)},
      {"seal_mac", LowerHex(c.seal_mac)},
      // The seal verifier accepts a "retention" cut only within the sealed
      // policy and lists any other reason as an early cut.
      {"reason", c.reason.empty() ? std::string("retention") : c.reason}};
  audit->Record(SelfEventKind::kRetentionCut, "",
                std::to_string(c.events) + " events of " + c.host + " received before " +
                    FormatRfc3339Micros(c.cut_us) + " removed (" + why + ")",
                fields);
}

}  // namespace trailkeep
