// Port-60 records as events: one auditd record received over the remote
// protocol (server/net/audit_remote_session.h) becomes one stored Event.
//
// The record is kept byte-exact (raw: the payload as received; msg: without
// its trailing LF). The host is not set here: it comes from the channel
// (host_binding_stage.h), never from a node= in the text.
// The event time is the record's msg=audit(SECONDS.MILLIS:SERIAL); a payload
// that is not a record (a fragment of an over-long line, text on an ASCII
// connection) is stored with the receive time and a parse_error.
#pragma once

#include <cstdint>
#include <string>

namespace trailkeep::v1 {
class Event;
class Peer;
}  // namespace trailkeep::v1

namespace trailkeep {

void MakeAuditRemoteEvent(std::string payload, int64_t receive_time_us, const v1::Peer& peer,
                          v1::Event* e);

// The time of msg=audit(SECONDS.MILLIS:SERIAL) in µs; false when absent,
// negative or past what int64 microseconds hold.
bool AuditRecordTimeUs(const std::string& text, int64_t* time_us);

}  // namespace trailkeep
