// ClassifyStage, the last ingest stage and the collector's only classifier:
// adds the NDcPP SFR references and description of the rule set in force
// (rules_holder.h) to a batch of events. Every route of an event passes it
// once: the ingest pipeline's batches, the collector's own self-audit events
// (collector_events.h) and the audit groups, whether closed at commit
// (audit_grouping_stage.h) or by time (CollectorEvents::OfferGrouped).
// Audit members are skipped: their grouped event is classified instead.
//
// The rule set is taken once per batch, so a reload never changes the rules
// under a batch. Thread-safe (RulesHolder is).
#pragma once

#include <vector>

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

class RulesHolder;

class ClassifyStage {
 public:
  // `rules` (null: no classification) must outlive the stage.
  explicit ClassifyStage(const RulesHolder* rules) : rules_(rules) {}

  void Classify(std::vector<v1::Event>* events) const;

 private:
  const RulesHolder* const rules_;
};

}  // namespace trailkeep
