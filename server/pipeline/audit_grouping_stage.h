// AuditGroupingStage: the commit stage that groups auditd records
// (audit_grouping.h). It sees each batch after the stages that drop events
// (the chain verifier, the record deduper), so a resent record is never
// grouped twice, takes its members and inventories, and appends each group
// they close as one more event, classified, to the same batch: the grouped
// event is stored in the same WriteBatch as the record that closed it, after
// it in ingest order. The committer never offers to itself.
//
// Groups closed by time (Expire) or at shutdown (Flush) do not pass here:
// the grouping timer offers them as the collector's own events.
//
// Concurrency: not thread-safe; the committer thread runs it (AuditGrouping
// itself is thread-safe, so the timer may Expire meanwhile).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "server/store/committer.h"

namespace trailkeep {

class AuditGrouping;
class RulesHolder;

class AuditGroupingStage final : public CommitStage {
 public:
  using Clock = std::function<int64_t()>;  // microseconds since the epoch
  // `grouping` and `rules` (may be null: no classification) must outlive this.
  AuditGroupingStage(AuditGrouping* grouping, const RulesHolder* rules, Clock clock)
      : grouping_(grouping), rules_(rules), clock_(std::move(clock)) {}

  void Prepare(std::vector<v1::Event>* events, CommitExtras* extras) override;
  // A record grouped in a batch that is then abandoned (shutdown with a
  // store that cannot write) stays grouped: nothing is stored after it.
  void Committed() override {}
  void Failed() override {}

 private:
  AuditGrouping* const grouping_;
  const RulesHolder* const rules_;
  const Clock clock_;
};

}  // namespace trailkeep
