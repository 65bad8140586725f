// IngestSink: all that server/net knows of the collector's core.
//
// A source turns bytes into RawFrames (bytes + peer identity + receive time)
// and offers them; the sink parses and queues them for commit. When the sink
// is full, Offer() returns false and the source keeps its frames, stops
// reading its socket and retries later: back-pressure, never a drop.
// Connection-level events (refused handshakes, framing errors) go to
// ReportConnectionEvent so the collector can audit them.
//
// Concurrency: every method may be called from any I/O thread at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace trailkeep::v1 {
class Event;
class Peer;
}  // namespace trailkeep::v1

namespace trailkeep {

struct RawFrame {
  std::string bytes;
  int64_t receive_time_us = 0;
  std::shared_ptr<const v1::Peer> peer;  // shared by every frame of a connection
};

enum class ConnectionEventKind {
  kTlsHandshakeFailed,  // includes refused certificates
  kPeerNotPermitted,    // verified certificate, but not on the permitted list
  kFramingError,        // oversize or malformed frame: connection closed
  kTruncatedFrame,      // half-sent frame at disconnect
  kConnectionLimit,     // refused: too many connections or handshakes
};

class IngestSink {
 public:
  virtual ~IngestSink() = default;
  // On true, the frames were taken and `frames` is empty.
  virtual bool Offer(std::vector<RawFrame>* frames) = 0;
  virtual void ReportConnectionEvent(ConnectionEventKind kind, const v1::Peer& peer,
                                     const std::string& reason) = 0;
};

}  // namespace trailkeep
