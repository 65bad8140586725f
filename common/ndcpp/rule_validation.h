// What makes a rule's values valid, apart from the TOML they are written in:
// its patterns compile, its audit record types and field values are as
// auditd's interpretation writes them, it names what every rule must have.
// Each check returns the error ("" when the value is fine), without file or
// line: the loader (rules_loader.h) places it.
#pragma once

#include <string>
#include <vector>

#include "common/ndcpp/rule.h"

namespace trailkeep::ndcpp {

// "bad regular expression in <what>: <RE2's error>".
std::string PatternError(const std::string& what, const std::string& pattern);

// An audit_type value: SYSCALL, USER_AUTH, UNKNOWN[1334], ...
std::string AuditTypeError(const std::string& type);

// The name of an audit_fields entry (`what` names it: "audit_fields.NAME").
std::string AuditFieldNameError(const std::string& what, const std::string& name);

// One value of an audit_fields entry: compared with the interpreted field, so
// a syscall number or a hex arch (where auditd gives a name) would never match.
std::string AuditFieldValueError(const std::string& what, const std::string& name,
                                 const std::string& value);

// What the rule as a whole lacks: a name, refs, a description, a condition.
std::vector<std::string> MissingParts(const Rule& rule, bool has_refs, bool has_description);

}  // namespace trailkeep::ndcpp
