// BuildAuditEvent: the stored event of one closed AuditGroup.
//
// APP-NAME "auditd"; MSGID the event's main record type (SYSCALL when there
// is one, else the first); MSG and raw the record lines joined by LF, byte
// for byte; event time from msg=audit(SECONDS.MILLIS:...); `audit` holds every
// record with its interpretation (interpret.h) and the event's node: node= of
// the records, else the name chosen by the source's name_format (NodeName),
// as auditd's name_format would have put it on the records.
#pragma once

#include <string>
#include <string_view>

#include "common/audit/audit_grouper.h"
#include "common/audit/identity_map.h"

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep::audit {

// auditd.conf's name_format values.
enum class NameFormat { kNone, kHostname, kFqd, kNumeric, kUser };

// Parses "none|hostname|fqd|numeric|user"; false otherwise.
bool ParseNameFormat(std::string_view text, NameFormat* out);

// The node name for records without node=: hostname = `host` up to the first
// dot, fqd = `host`, numeric = `address`, user = `user_name`, none = "".
std::string NodeName(NameFormat format, std::string_view host, std::string_view address,
                     std::string_view user_name);

// Fills *event (cleared first) from `group`. `ids` may be null (no identity
// map for the host: ids stay numbers, marked unresolved).
void BuildAuditEvent(const AuditGroup& group, const IdentityMap* ids, std::string_view node_name,
                     v1::Event* event);

}  // namespace trailkeep::audit
