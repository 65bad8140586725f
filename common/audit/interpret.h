// Interpretation of one audit record's fields, as `ausearch -i` (and more:
// proctitle is decoded too). The record text is never changed: each
// interpreted field is added beside its raw value.
//
//   arch      c000003e -> x86_64            syscall  59 -> execve (for that arch)
//   exit      -13 -> EACCES(Permission denied) (SYSCALL records, negative)
//   proctitle, cmd, comm, exe, cwd, name, acct: hex -> text (NULs as spaces)
//   saddr     hex sockaddr -> { saddr_fam=inet laddr=1.2.3.4 lport=22 }
//   res       1/0 -> yes/no                 ses    4294967295 -> unset
//   uid, auid, euid, ... -> user names; gid, egid, ... -> group names, from
//   `ids` (null: no identity map; the value stays the number, unresolved);
//   4294967295 -> unset; an id missing from the map -> unknown(ID), unresolved.
#pragma once

#include <string>
#include <string_view>

#include "common/audit/audit_record.h"
#include "common/audit/identity_map.h"

namespace trailkeep::v1 {
class AuditRecord;
}

namespace trailkeep::audit {

// Appends the interpreted fields of `record` to out->fields (type and text
// are the caller's).
void InterpretRecord(const AuditRecord& record, const IdentityMap* ids, v1::AuditRecord* out);

// Decodes auditd's hex encoding of an untrusted string (NULs between
// arguments become spaces); false when `hex` is not hex.
bool DecodeHexString(std::string_view hex, std::string* out);
// "{ saddr_fam=inet laddr=... lport=... }" from a hex sockaddr; false when
// it is not hex or too short for its family.
bool DecodeSaddr(std::string_view hex, std::string* out);

}  // namespace trailkeep::audit
