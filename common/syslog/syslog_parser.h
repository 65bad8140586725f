// Syslog message parsing: one frame's bytes -> the fields of an Event.
//
// ParseSyslog() picks the grammar from the bytes after PRI ("<PRI>1 " is
// RFC 5424, anything else legacy RFC 3164 in its real-world forms) and never
// fails: what it cannot parse strictly it parses leniently and explains in
// Event::parse_error; what it cannot parse at all becomes FORMAT_UNPARSED with
// the whole frame as MSG. It never reads the peer or the store; it sets the
// RFC 5424/3164 fields, event time (with year or whole time inferred from
// `receive_time_us` when the message lacks them) and nothing else. The raw
// bytes are the caller's to keep.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

void ParseSyslog(std::string_view frame, int64_t receive_time_us, v1::Event* event);

// Strict RFC 5424. Returns false (with *error set) when the message does not
// follow the grammar; fields parsed before the error are left in *event.
bool ParseRfc5424(std::string_view frame, int64_t receive_time_us, v1::Event* event,
                  std::string* error);

// Lenient RFC 3164 and its variants: "<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG",
// ISO timestamps in place of the BSD one, missing PRI, missing HOSTNAME, and
// network gear's forms (Cisco IOS/ASA/NX-OS, FortiOS key=value). Sets
// parse_error whenever the event time could not be taken from the message.
void ParseRfc3164(std::string_view frame, int64_t receive_time_us, v1::Event* event);

// Sets every field the parsers own to "absent" with the given format; the
// event time falls back to the receive time (marked inferred).
void ResetParsedFields(int format, int64_t receive_time_us, v1::Event* event);

// RFC 3339 timestamp as RFC 5424 restricts it. On success sets *utc_us and
// *offset_min. Leap seconds (":60") are refused.
bool ParseRfc3339(std::string_view text, int64_t* utc_us, int* offset_min);

}  // namespace trailkeep
