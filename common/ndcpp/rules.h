// NDcPP classification rules: the rules file, its validation, and matching.
// RuleSet composes the pieces: rules_loader.h reads the TOML (through the
// shared TomlReader) and rule_validation.h checks the values, rule_index.h
// builds the buckets below, rule_match.h decides what holds.
//
// The rules file (deploy/ndcpp_rules.toml; format in docs/ndcpp.md) is a TOML
// list of rules. Each rule names conditions on parsed syslog fields and the
// SFR references plus a short description that an event meeting them is
// evidence for:
//
//   [[rule]]
//   name = "sshd-auth-failed"                 # unique
//   app = ["sshd"]                            # optional: APP-NAME (basename of
//   a path) msgid = ["SSHD_LOGIN_FAILED"]             # optional: exact MSGID,
//   any of msg = 'Failed (password|publickey) for'   # optional: RE2,
//   unanchored, on MSG sd_id = "junos@2636.1.1.1.2.164"          # optional: an
//   SD element with this id sd = { username = "^root$" }              #
//   optional: SD params (RE2, unanchored) audit_type = ["SYSCALL"] # optional:
//   the grouped auditd event has a
//                                             #   record of one of these types
//   audit_fields = { syscall = ["clock_settime", "settimeofday"], success =
//   "yes" }
//                                             # optional: one record (of
//                                             audit_type) has #   each field
//                                             equal to one of its values, #
//                                             interpreted (syscall name for its
//                                             arch, #   user names, decoded
//                                             hex) where the #   field has an
//                                             interpretation, else raw
//   refs = ["FIA_UIA_EXT.1", "FIA_UAU_EXT.2"] # canonical names or aliases
//   (sfr.h) description = "remote login failed"
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
// the start, whose pass stops as soon as none of them can match. An event whose
// app and MSGID have no rules costs one RE2::Set scan of the (small) bucket for
// all and allocates nothing.
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
#include <vector>

#include "common/base/status.h"
#include "common/ndcpp/rule.h"

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep::ndcpp {

class RuleIndex;

class RuleSet {
 public:
  ~RuleSet();
  RuleSet(const RuleSet &) = delete;
  RuleSet &operator=(const RuleSet &) = delete;

  // Parses and validates a rules file. On failure the status message lists
  // every error, one "path:line: message" per line; `errors` (optional)
  // receives the same list.
  static Result<std::shared_ptr<const RuleSet>> LoadFile(
      const std::string &path, std::vector<std::string> *errors = nullptr);
  // As LoadFile, for text already in memory; `source` names it in errors.
  static Result<std::shared_ptr<const RuleSet>> LoadString(
      std::string_view text, const std::string &source, std::vector<std::string> *errors = nullptr);

  // Appends the refs of every matching rule to event->ndcpp_refs (refs already
  // present are not repeated) and sets event->description to the description of
  // the first matching rule in file order. Returns whether any rule matched;
  // the event is untouched when none did.
  bool Classify(v1::Event *event) const;

  // Indices (into rules()) of the rules matching `event`, in file order.
  void Match(const v1::Event &event, std::vector<int> *rule_indices) const;

  const std::vector<Rule> &rules() const { return rules_; }

 private:
  RuleSet();
  void MatchInto(const v1::Event &event, std::vector<int> *hits) const;

  std::vector<Rule> rules_;
  std::unique_ptr<RuleIndex> index_;
};

}  // namespace trailkeep::ndcpp
