// ParseStage, the first ingest stage: one received frame becomes one Event.
//
// Syslog frames are parsed as RFC 5424, else RFC 3164 (common/syslog/
// syslog_parser.h); port-60 frames are auditd records (audit_remote_records.h).
// The event keeps the frame's bytes as raw (moved out of the frame: give them
// back with `frame.bytes = std::move(*e.mutable_raw())`), the receive time,
// the channel's peer, its transport, integrity UNSIGNED, and audit_member on
// the auditd records its channel vouches for (grouped after commit and
// classified as groups, audit_grouping.h). The host is not decided here
// (HostBindingStage) nor the chain element read (MacCheckStage).
//
// Pure: no state, no I/O, never fails (what does not parse is kept with a
// parse_error). Thread-safe.
#pragma once

#include "server/net/ingest.h"

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

class ParseStage {
 public:
  // `e` is a fresh Event; `frame->bytes` is moved into e->raw.
  void Parse(FrameFormat format, RawFrame* frame, v1::Event* e) const;
};

}  // namespace trailkeep
