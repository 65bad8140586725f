// The index a RuleSet matches through (the buckets common/ndcpp/rules.h
// describes): rules bucketed by app, rules without app but with msgid by
// MSGID, the rest in one bucket for all, each bucket holding its msg
// patterns in RE2::Sets; rules with an audit condition apart, by record type.
// Immutable once built; lookups are const and thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <re2/set.h>

#include "common/ndcpp/rule.h"

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep::ndcpp {

struct RuleBucket {
  std::vector<int> always;  // rules of this bucket without a msg pattern
  // msg patterns that can match only at the start of MSG (pattern_anchor.h),
  // in a set anchored there: its scan ends where no pattern can match.
  std::unique_ptr<re2::RE2::Set> anchored;  // null when there are none
  std::vector<int> anchored_rule;           // set index -> rule index
  // The other msg patterns: this scan reads the whole MSG.
  std::unique_ptr<re2::RE2::Set> set;  // null when there are none
  std::vector<int> set_rule;           // set index -> rule index
};

class RuleIndex {
 public:
  // A problem building the index: the rule's line (0: none) and the message.
  using ErrorFn = std::function<void(int line, std::string message)>;

  // Indexes `rules` (by their position in it), and compiles the msg pattern
  // of each rule with an audit condition into its audit_msg_re. Patterns an
  // RE2::Set rejects, and sets beyond RE2's memory limit, go to `error`.
  void Build(std::vector<Rule>* rules, const ErrorFn& error);

  const RuleBucket* ForApp(std::string_view app) const { return Find(by_app_, app); }
  const RuleBucket* ForMsgid(std::string_view msgid) const { return Find(by_msgid_, msgid); }
  const RuleBucket& ForAnyApp() const { return any_app_; }

  // The audit rules `event` (which has audit()) must evaluate: those of its
  // records' types and those without audit_type, ascending, each once.
  void AuditCandidates(const v1::Event& event, std::vector<int>* out) const;
  bool has_audit_rules() const { return !by_audit_type_.empty() || !audit_any_.empty(); }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <typename T>
  using ByName = std::unordered_map<std::string, T, StringHash, std::equal_to<>>;

  static const RuleBucket* Find(const ByName<std::unique_ptr<RuleBucket>>& map,
                                std::string_view key) {
    auto it = map.find(key);
    return it == map.end() ? nullptr : it->second.get();
  }
  void IndexAuditRule(Rule* rule, int index);
  void IndexRule(const Rule& rule, int index, const ErrorFn& error);

  ByName<std::unique_ptr<RuleBucket>> by_app_;
  ByName<std::unique_ptr<RuleBucket>> by_msgid_;
  RuleBucket any_app_;
  // Rules with an audit condition, by record type; audit_any_: without audit_type.
  ByName<std::vector<int>> by_audit_type_;
  std::vector<int> audit_any_;
};

}  // namespace trailkeep::ndcpp
