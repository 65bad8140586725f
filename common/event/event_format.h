// The one JSON schema of an event (docs/event-schema.md), shared by
// `trailkeepd query --format json`, export NDJSON and `trailkeep tail`, and
// the one-line text form people read.
#pragma once

#include <cstdint>
#include <string>

namespace trailkeep::v1 {
class Event;
class HostState;
}  // namespace trailkeep::v1

namespace trailkeep {

// One JSON object on one line, no trailing newline. Text fields that are not
// valid UTF-8 are rendered with U+FFFD; `raw_b64` always carries the exact bytes.
// `seal` is the event's seal element (docs/formats/seal.md), null when unsealed;
// with `seal_proof` it also carries `stored_b64` (SealProofBytes, seal_proof.h),
// from which `trailkeep verify --seal-key` rebuilds what was sealed.
// Written directly (common/event/json_writer.h), byte for byte what the
// nlohmann-based renderer wrote before (tests/unit/common/event keeps it as
// the oracle).
std::string EventToJson(const v1::Event& event, bool seal_proof = false);
// EventToJson appended to *out: the export path's pages, without a copy.
void AppendEventJson(const v1::Event& event, bool seal_proof, std::string* out);
// "2026-11-23T05:08:34.858884Z host app[pid] <auth.notice> [refs] ~ message".
std::string EventToText(const v1::Event& event);
// A host's state; a [[tunnel]] node's object has a "tunnel" member
// (docs/tunnels.md "State").
std::string HostStateToJson(const v1::HostState& host);
// Receive time of the host's oldest stored event (retention may have removed
// older ones); first_seen_us in a store written before retention; 0 when the
// host keeps no event.
int64_t OldestKeptUs(const v1::HostState& host);
// "up", "retrying", "stopped" (v1::TunnelState::State), "unknown" otherwise.
const char* TunnelStateName(int state);
// A tunnel's state on one line, as `trailkeepd hosts` and `trailkeep hosts
// --server` print it: "up since T, N records received", and ": last error"
// while retrying.
std::string TunnelSummaryLine(const std::string& state, const std::string& since,
                              uint64_t events_received, const std::string& last_error);

const char* FacilityName(int facility);
const char* SeverityName(int severity);
const char* TransportName(int transport);
const char* FormatName(int format);
const char* IntegrityName(int integrity);

}  // namespace trailkeep
