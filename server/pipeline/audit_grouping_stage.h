// AuditGroupingStage: the commit stage that groups auditd records
// (audit_grouping.h). It sees each batch after the stages that drop events
// (the chain verifier, the record deduper), so a resent record is never
// grouped twice, takes its members and inventories, and appends each group
// they close as one more event, classified (the one ClassifyStage), to the same batch: the grouped
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
#include <vector>

#include "common/base/clock.h"
#include "server/store/committer.h"

namespace trailkeep {

class AuditGrouping;
class ClassifyStage;

class AuditGroupingStage final : public CommitStage {
 public:
  // `grouping` and `classify` (may be null: no classification) must outlive
  // this. `clock` times the groups' members.
  AuditGroupingStage(AuditGrouping* grouping, const ClassifyStage* classify,
                     ClockPtr clock = MakeSystemClock())
      : grouping_(grouping), classify_(classify), clock_(std::move(clock)) {}

  void Prepare(std::vector<v1::Event>* events, CommitExtras* extras) override;
  // A record grouped in a batch that is then abandoned (shutdown with a
  // store that cannot write) stays grouped: nothing is stored after it.
  void Committed() override {}
  void Failed() override {}

 private:
  AuditGrouping* const grouping_;
  const ClassifyStage* const classify_;
  const ClockPtr clock_;
};

}  // namespace trailkeep
