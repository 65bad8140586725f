// BuildAuditEvent: the stored event of one closed AuditGroup.
//
// APP-NAME "auditd"; MSGID the event's main record type (SYSCALL when there
// is one, else the first); MSG and raw the record lines joined by LF, byte
// for byte; event time from msg=audit(SECONDS.MILLIS:...); `audit` holds every
// record with its interpretation (interpret.h) and the event's node: node= of
// the records, else the name chosen by the source's name_format (node_name.h),
// as auditd's name_format would have put it on the records.
#pragma once

#include <string>
#include <string_view>

#include "common/audit/audit_grouper.h"
#include "common/audit/identity_map.h"
#include "common/audit/node_name.h"

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep::audit {

// Fills *event (cleared first) from `group`. `ids` may be null (no identity
// map for the host: ids stay numbers, marked unresolved).
void BuildAuditEvent(const AuditGroup& group, const IdentityMap* ids, std::string_view node_name,
                     v1::Event* event);

// Whether `e` is an audit record its channel vouches for, which the
// collector stores as a group member (audit_member): APP-NAME "auditd" and an
// audit record as MSG, from a bound agent (Peer.bound_host set) or from
// auditd's remote-logging protocol (transport AUDIT_PORT60). Cheap: field
// checks first, then the record header. `trailkeep verify --export` asks it
// too, to re-derive audit_member.
bool IsChannelAuditRecord(const v1::Event& e);

}  // namespace trailkeep::audit
