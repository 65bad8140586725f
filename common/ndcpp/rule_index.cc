#include "common/ndcpp/rule_index.h"

#include <algorithm>

#include "common/ndcpp/pattern_anchor.h"
#include "common/ndcpp/rule_pattern.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::ndcpp {
namespace {

// Adds rule `index` (`r`) to bucket `b`: to its always-list, or its pattern
// to the set it belongs in.
void AddToBucket(const Rule& r, int index, RuleBucket* b, const RuleIndex::ErrorFn& error) {
  if (r.msg.empty()) {
    b->always.push_back(index);
    return;
  }
  const bool at_start = MatchesOnlyAtStart(r.msg);
  auto& set = at_start ? b->anchored : b->set;
  if (!set) {
    set = std::make_unique<RE2::Set>(RulePatternOptions(),
                                     at_start ? RE2::ANCHOR_START : RE2::UNANCHORED);
  }
  std::string message;
  if (set->Add(r.msg, &message) < 0) {
    error(r.line, "rule '" + r.name + "': " + message);
    return;
  }
  (at_start ? b->anchored_rule : b->set_rule).push_back(index);
}

void CompileBucket(RuleBucket* b, const std::string& what, const RuleIndex::ErrorFn& error) {
  for (auto* set : {b->anchored.get(), b->set.get()}) {
    if (set != nullptr && !set->Compile()) {
      error(0, "cannot compile the patterns of " + what + " (RE2 memory limit)");
    }
  }
}

}  // namespace

void RuleIndex::IndexAuditRule(Rule* r, int index) {
  // Only grouped auditd events reach these, through their record types.
  if (!r->msg.empty()) r->audit_msg_re = std::make_shared<const RE2>(r->msg, RulePatternOptions());
  if (r->audit_types.empty()) audit_any_.push_back(index);
  for (const std::string& type : r->audit_types) {
    auto& list = by_audit_type_[type];
    // A type listed twice in one rule indexes it once.
    if (list.empty() || list.back() != index) list.push_back(index);
  }
}

void RuleIndex::IndexRule(const Rule& r, int index, const ErrorFn& error) {
  if (r.apps.empty() && !r.msgids.empty()) {
    // Keyed on MSGID instead (Junos): its pattern runs only on those events.
    for (const std::string& msgid : r.msgids) {
      auto& b = by_msgid_[msgid];
      if (!b) b = std::make_unique<RuleBucket>();
      AddToBucket(r, index, b.get(), error);
    }
    return;
  }
  if (r.apps.empty()) {
    AddToBucket(r, index, &any_app_, error);
    return;
  }
  for (const std::string& app : r.apps) {
    auto& b = by_app_[app];
    if (!b) b = std::make_unique<RuleBucket>();
    AddToBucket(r, index, b.get(), error);
  }
}

void RuleIndex::Build(std::vector<Rule>* rules, const ErrorFn& error) {
  for (size_t i = 0; i < rules->size(); ++i) {
    Rule& r = (*rules)[i];
    if (HasAuditCondition(r)) {
      IndexAuditRule(&r, static_cast<int>(i));
    } else {
      IndexRule(r, static_cast<int>(i), error);
    }
  }
  CompileBucket(&any_app_, "rules without 'app'", error);
  for (auto& [app, b] : by_app_) CompileBucket(b.get(), "app '" + app + "'", error);
  for (auto& [msgid, b] : by_msgid_) CompileBucket(b.get(), "msgid '" + msgid + "'", error);
}

void RuleIndex::AuditCandidates(const v1::Event& event, std::vector<int>* out) const {
  out->assign(audit_any_.begin(), audit_any_.end());
  for (const v1::AuditRecord& record : event.audit().records()) {
    if (auto it = by_audit_type_.find(record.type()); it != by_audit_type_.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
    }
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
}

}  // namespace trailkeep::ndcpp
