// NDcPP classification rules: the rules file, its validation, and matching.
//
// The rules file (deploy/ndcpp_rules.toml; format in docs/ndcpp.md) is a TOML
// list of rules. Each rule names conditions on parsed syslog fields and the
// SFR references plus a short description that an event meeting them is
// evidence for:
//
//   [[rule]]
//   name = "sshd-auth-failed"                 # unique
//   app = ["sshd"]                            # optional: APP-NAME (basename of a path)
//   msgid = ["SSHD_LOGIN_FAILED"]             # optional: exact MSGID, any of
//   msg = 'Failed (password|publickey) for'   # optional: RE2, unanchored, on MSG
//   sd_id = "junos@2636.1.1.1.2.164"          # optional: an SD element with this id
//   sd = { username = "^root$" }              # optional: SD params (RE2, unanchored)
//   audit_type = ["SYSCALL"]                  # optional: the grouped auditd event has a
//                                             #   record of one of these types
//   audit_fields = { syscall = ["clock_settime", "settimeofday"], success = "yes" }
//                                             # optional: one record (of audit_type) has
//                                             #   each field equal to one of its values,
//                                             #   interpreted (syscall name for its arch,
//                                             #   user names, decoded hex) where the
//                                             #   field has an interpretation, else raw
//   refs = ["FIA_UIA_EXT.1", "FIA_UAU_EXT.2"] # canonical names or aliases (sfr.h)
//   description = "remote login failed"
//
// A rule matches when every condition it names holds. Loading reports every
// problem as "file:line: message" (unknown keys, wrong types, bad regular
// expressions with RE2's error text, unknown SFR names, duplicate names) and
// returns no rule set when there is any.
//
// Matching is cheap per event: rules are bucketed by app, rules without
// `app` but with `msgid` by MSGID, and the rest form one bucket for all; an
// event consults its app's bucket, its MSGID's bucket and the bucket for all,
// each holding one RE2::Set over the `msg` patterns, so one pass over MSG per
// bucket decides which patterns match. Patterns that can match only at the
// start of MSG ('^' on every alternative) sit in a second set anchored at
// the start, whose pass stops as soon as none of them can match. An event whose app and MSGID have
// no rules costs one RE2::Set scan of the (small) bucket for all and allocates nothing.
//
// Rules with an audit condition (audit_type, audit_fields) look at the
// interpreted records of a grouped auditd event (event.audit(), built by
// common/audit/audit_event.h for the collector and `trailkeep classify`
// alike). They are kept out of the buckets above and indexed by record type
// (those without audit_type in one list for every audit event): an event
// without `audit` never evaluates them, and an audit event evaluates only the
// rules of its records' types; their other conditions (app, msgid, msg, sd)
// are checked one rule at a time after that.
//
// A loaded RuleSet is immutable; Classify is const and thread-safe, so a
// shared_ptr<const RuleSet> can be swapped on reload (SIGHUP) while shards use
// the old one.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/base/status.h"

namespace re2 {
class RE2;
class Set;
}  // namespace re2

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep::ndcpp {

struct Rule {
  std::string name;
  int line = 0;                     // line of the [[rule]] header
  std::vector<std::string> apps;    // empty: any app
  std::vector<std::string> msgids;  // empty: any MSGID
  std::string msg;                  // RE2 pattern; empty: no MSG condition
  std::string sd_id;                // empty: no SD-ID condition
  struct SdCondition {
    std::string param;
    std::string pattern;
    std::shared_ptr<const re2::RE2> re;
  };
  std::vector<SdCondition> sd;
  std::vector<std::string> audit_types;  // empty: any record type
  struct AuditFieldCondition {
    std::string name;                 // as auditd writes the key
    std::vector<std::string> values;  // any of; interpreted value, else raw
  };
  std::vector<AuditFieldCondition> audit_fields;  // all in one record
  // Compiled `msg` of a rule with an audit condition (checked per rule).
  std::shared_ptr<const re2::RE2> audit_msg_re;
  std::vector<std::string> refs;  // canonical SFR names, deduplicated
  std::string description;
};

// The rules shipped with the binaries: <dir of the running executable>/
// ../share/trailkeep/ndcpp_rules.toml (the build tree and an installed tree
// both have that shape). "" when /proc/self/exe cannot be read.
std::string DefaultRulesPath();

class RuleSet {
 public:
  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  // Parses and validates a rules file. On failure the status message lists
  // every error, one "path:line: message" per line; `errors` (optional)
  // receives the same list.
  static Result<std::shared_ptr<const RuleSet>> LoadFile(
      const std::string& path, std::vector<std::string>* errors = nullptr);
  // As LoadFile, for text already in memory; `source` names it in errors.
  static Result<std::shared_ptr<const RuleSet>> LoadString(
      std::string_view text, const std::string& source, std::vector<std::string>* errors = nullptr);

  // Appends the refs of every matching rule to event->ndcpp_refs (refs already
  // present are not repeated) and sets event->description to the description of
  // the first matching rule in file order. Returns whether any rule matched;
  // the event is untouched when none did.
  bool Classify(v1::Event* event) const;

  // Indices (into rules()) of the rules matching `event`, in file order.
  void Match(const v1::Event& event, std::vector<int>* rule_indices) const;

  const std::vector<Rule>& rules() const { return rules_; }

 private:
  struct Bucket;
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  RuleSet();
  void MatchInto(const v1::Event& event, std::vector<int>* hits) const;
  void RunBucket(const Bucket& bucket, const v1::Event& event, std::vector<int>* hits) const;
  bool OtherConditionsHold(const Rule& rule, const v1::Event& event) const;
  void RunAuditRules(const v1::Event& event, std::vector<int>* hits) const;
  bool AuditRuleHolds(const Rule& rule, const v1::Event& event) const;

  std::vector<Rule> rules_;
  std::unordered_map<std::string, std::unique_ptr<Bucket>, StringHash, std::equal_to<>> by_app_;
  std::unordered_map<std::string, std::unique_ptr<Bucket>, StringHash, std::equal_to<>> by_msgid_;
  std::unique_ptr<Bucket> any_app_;
  // Rules with an audit condition, by record type; audit_any_: without audit_type.
  std::unordered_map<std::string, std::vector<int>, StringHash, std::equal_to<>> by_audit_type_;
  std::vector<int> audit_any_;
};

// APP-NAME as rules see it: the part after the last '/', so that
// "/usr/local/sbin/opensips" is "opensips".
std::string_view RuleAppName(std::string_view app_name);

}  // namespace trailkeep::ndcpp
