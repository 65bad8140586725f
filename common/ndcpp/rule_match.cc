#include "common/ndcpp/rule_match.h"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>

#include <re2/re2.h>

#include "common/audit/audit_record.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::ndcpp {
namespace {

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Whether one record has every field of `conditions` with one of its values:
// the interpreted value (record.fields(), in the order of the text's fields)
// where the field has one, else the raw value from the record text.
bool RecordFieldsHold(const std::vector<Rule::AuditFieldCondition>& conditions,
                      const v1::AuditRecord& record) {
  if (conditions.empty()) return true;
  audit::AuditRecord parsed;
  if (!audit::ParseAuditRecord(record.text(), &parsed)) return false;
  struct Walk {
    const std::vector<Rule::AuditFieldCondition>& conditions;
    const v1::AuditRecord& record;
    int next_interpreted = 0;
    uint64_t held = 0;
  } walk{conditions, record};
  // One reference captured: std::function keeps it inline, no allocation.
  audit::ForEachAuditField(parsed.body, [&walk](const audit::AuditFieldView& f) {
    std::string_view value = f.value;
    if (!f.quoted && walk.next_interpreted < walk.record.fields_size()) {
      const v1::AuditField& i = walk.record.fields(walk.next_interpreted);
      if (i.name() == f.key && i.raw() == f.value) {
        value = i.value();
        ++walk.next_interpreted;
      }
    }
    for (size_t c = 0; c < walk.conditions.size(); ++c) {
      if (walk.conditions[c].name == f.key && Contains(walk.conditions[c].values, value)) {
        walk.held |= uint64_t{1} << c;
      }
    }
  });
  const uint64_t all =
      conditions.size() == kMaxAuditFields ? ~uint64_t{0} : (uint64_t{1} << conditions.size()) - 1;
  return walk.held == all;
}

}  // namespace

bool OtherConditionsHold(const Rule& rule, const v1::Event& event) {
  if (!rule.msgids.empty() && !Contains(rule.msgids, event.msgid())) return false;
  if (!rule.sd_id.empty()) {
    bool found = false;
    for (const auto& el : event.structured_data()) found = found || el.id() == rule.sd_id;
    if (!found) return false;
  }
  for (const Rule::SdCondition& c : rule.sd) {
    bool matched = false;
    for (const auto& el : event.structured_data()) {
      if (!rule.sd_id.empty() && el.id() != rule.sd_id) continue;
      for (const auto& p : el.params()) {
        if (p.name() == c.param && RE2::PartialMatch(p.value(), *c.re)) {
          matched = true;
          break;
        }
      }
      if (matched) break;
    }
    if (!matched) return false;
  }
  return true;
}

bool AuditRuleHolds(const Rule& rule, const v1::Event& event) {
  if (!rule.apps.empty() && !Contains(rule.apps, RuleAppName(event.app_name()))) return false;
  bool record_holds = false;
  for (const v1::AuditRecord& record : event.audit().records()) {
    if (!rule.audit_types.empty() && !Contains(rule.audit_types, record.type())) continue;
    if (RecordFieldsHold(rule.audit_fields, record)) {
      record_holds = true;
      break;
    }
  }
  if (!record_holds || !OtherConditionsHold(rule, event)) return false;
  return rule.audit_msg_re == nullptr || RE2::PartialMatch(event.msg(), *rule.audit_msg_re);
}

void MatchBucket(const RuleBucket& bucket, const std::vector<Rule>& rules, const v1::Event& event,
                 std::vector<int>* hits) {
  for (int r : bucket.always) {
    if (OtherConditionsHold(rules[static_cast<size_t>(r)], event)) hits->push_back(r);
  }
  // Reused per thread: the no-match case allocates nothing after warm-up.
  thread_local std::vector<int> set_hits;
  const std::pair<const re2::RE2::Set*, const std::vector<int>*> sets[] = {
      {bucket.anchored.get(), &bucket.anchored_rule}, {bucket.set.get(), &bucket.set_rule}};
  for (const auto& [set, set_rule] : sets) {
    set_hits.clear();
    if (set == nullptr || !set->Match(event.msg(), &set_hits)) continue;
    for (int i : set_hits) {
      const int r = (*set_rule)[static_cast<size_t>(i)];
      if (OtherConditionsHold(rules[static_cast<size_t>(r)], event)) hits->push_back(r);
    }
  }
}

}  // namespace trailkeep::ndcpp
