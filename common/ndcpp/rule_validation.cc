#include "common/ndcpp/rule_validation.h"

#include <algorithm>
#include <string_view>

#include "common/ndcpp/rule_pattern.h"

namespace trailkeep::ndcpp {
namespace {

bool AllOf(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
// Record types as auditd prints them: SYSCALL, USER_AUTH, UNKNOWN[1334].
bool IsRecordTypeChar(char c) {
  return (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_' || c == '[' || c == ']';
}

}  // namespace

std::string PatternError(const std::string& what, const std::string& pattern) {
  RE2 re(pattern, RulePatternOptions());
  return re.ok() ? "" : "bad regular expression in " + what + ": " + re.error();
}

std::string AuditTypeError(const std::string& type) {
  if (AllOf(type, IsRecordTypeChar)) return "";
  return "'audit_type' '" + type +
         "' is not a record type as auditd writes it (SYSCALL, USER_AUTH, UNKNOWN[1334], ...)";
}

std::string AuditFieldNameError(const std::string& what, const std::string& name) {
  if (!name.empty() && name.find_first_of(" =\"'") == std::string::npos) return "";
  return "'" + what + "' is not an audit field name";
}

std::string AuditFieldValueError(const std::string& what, const std::string& name,
                                 const std::string& value) {
  if (name == "syscall" && AllOf(value, IsDigit)) {
    return "'" + what +
           "' takes syscall names (the record's arch decides the number: `ausyscall ARCH " + value +
           "`), not '" + value + "'";
  }
  if (name == "arch" && value.size() == 8 && AllOf(value, IsHexDigit)) {
    return "'" + what + "' takes arch names (x86_64, aarch64, i386, ...), not '" + value + "'";
  }
  return "";
}

std::vector<std::string> MissingParts(const Rule& rule, bool has_refs, bool has_description) {
  std::vector<std::string> errors;
  if (rule.name.empty()) errors.push_back("rule has no 'name'");
  if (!has_refs) errors.push_back("rule '" + rule.name + "' has no 'refs'");
  if (!has_description) errors.push_back("rule '" + rule.name + "' has no 'description'");
  if (rule.apps.empty() && rule.msgids.empty() && rule.msg.empty() && rule.sd_id.empty() &&
      rule.sd.empty() && !HasAuditCondition(rule)) {
    errors.push_back("rule '" + rule.name +
                     "' has no condition (app, msgid, msg, sd_id, sd, audit_type or audit_fields)");
  }
  return errors;
}

}  // namespace trailkeep::ndcpp
