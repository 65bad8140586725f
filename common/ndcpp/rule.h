// One NDcPP classification rule as loaded from the rules file (its format:
// common/ndcpp/rules.h, docs/ndcpp.md). Plain data; a loaded rule's patterns
// are valid RE2.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}  // namespace re2

namespace trailkeep::ndcpp {

// A rule holds at most this many audit_fields (a bit each while matching).
inline constexpr size_t kMaxAuditFields = 64;

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

inline bool HasAuditCondition(const Rule& r) {
  return !r.audit_types.empty() || !r.audit_fields.empty();
}

// APP-NAME as rules see it: the part after the last '/', so that
// "/usr/local/sbin/opensips" is "opensips".
std::string_view RuleAppName(std::string_view app_name);

}  // namespace trailkeep::ndcpp
