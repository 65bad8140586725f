// AuditRecord: one auditd record line, split into its header and fields.
//
//   [node=NAME ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): k=v k="v" msg='k=v ...'
//
// ParseAuditRecord only finds the header; ForEachAuditField walks the body's
// key=value pairs, descending into a user message's msg='...'. Pure code, no
// allocation: every string_view points into the line passed in and is valid
// as long as that line is.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace trailkeep::audit {

struct AuditRecord {
  std::string_view text;  // the whole line
  std::string_view node;  // "" when the record has no node=
  std::string_view type;  // "SYSCALL", "UNKNOWN[1334]", ...
  std::string_view time;  // "1453208093.787"
  uint64_t serial = 0;
  std::string_view body;  // what follows "): "
};

// False when `line` is not an auditd record (no type= and msg=audit(...)).
bool ParseAuditRecord(std::string_view line, AuditRecord* out);

struct AuditFieldView {
  std::string_view key;
  std::string_view value;  // without the quotes
  bool quoted = false;     // "..." (or '...' other than a nested msg)
};

// Calls fn for each field of `body`, in order; a msg='...' field is not
// reported itself: its inner fields are.
void ForEachAuditField(std::string_view body, const std::function<void(const AuditFieldView&)>& fn);

// Single-record types: auditd's user-space messages (USER_*, CRED_*, ...)
// are never followed by other records or an EOE, so they close at once.
bool IsSingleRecordType(std::string_view type);

}  // namespace trailkeep::audit
