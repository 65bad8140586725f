// Whether rules hold for an event: the per-rule conditions, and one bucket's
// pass over MSG (rule_index.h). Pure and thread-safe (per-thread scratch
// vectors keep the no-match case free of allocations).
#pragma once

#include <vector>

#include "common/ndcpp/rule.h"
#include "common/ndcpp/rule_index.h"

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep::ndcpp {

// The conditions the index does not decide: msgid, sd_id, sd.
bool OtherConditionsHold(const Rule& rule, const v1::Event& event);

// A rule with an audit condition, on an event with audit(): one record (of
// audit_type) holds every audit_fields condition, and app, msgid, sd_id, sd
// and msg hold.
bool AuditRuleHolds(const Rule& rule, const v1::Event& event);

// Appends to *hits the indices (into `rules`) of the rules of `bucket` that
// hold for `event`: its patterns' sets matched against MSG, then each
// candidate's other conditions.
void MatchBucket(const RuleBucket& bucket, const std::vector<Rule>& rules, const v1::Event& event,
                 std::vector<int>* hits);

}  // namespace trailkeep::ndcpp
