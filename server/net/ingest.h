// All that server/net knows of the collector's core: three small interfaces,
// each session holding only those it uses (IngestPorts bundles them for the
// listeners, which hand them on).
//
// IngestSink: a source turns bytes into RawFrames (bytes + peer identity +
// receive time) and offers them as one batch, through the one entry point
// Offer(); the sink parses and queues them for commit. When the sink is
// full, Offer() returns false and the source keeps its frames, stops reading
// its socket and retries later: back-pressure, never a drop.
//
// ConnectionReporter: connection-level events (refused handshakes, framing
// errors, limits) are reported so the collector can audit them.
//
// AgentBinder: agent connections (TLS with ALPN trailkeep/1, docs/formats/
// agent_wire.md) bind to a host and get their Resume and Acks through the
// AgentLink they hand over.
//
// Concurrency: every method may be called from any I/O thread at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace trailkeep::v1 {
class Event;
class Peer;
}  // namespace trailkeep::v1

namespace trailkeep {

// What the frames of one batch carry; a connection's frames share one.
enum class FrameFormat : uint8_t {
  kSyslog,       // RFC 5424 / RFC 3164 messages (TLS syslog, trailkeep/1)
  kAuditRecord,  // auditd records over its remote protocol, one per frame (port 60)
};

struct RawFrame {
  std::string bytes;
  int64_t receive_time_us = 0;
  std::shared_ptr<const v1::Peer> peer;  // shared by every frame of a connection
};

// Frames of one connection, all in one format, offered together.
struct IngestBatch {
  FrameFormat format = FrameFormat::kSyslog;
  std::vector<RawFrame> frames;
};

enum class ConnectionEventKind {
  kTlsHandshakeFailed,  // includes refused certificates
  kPeerNotPermitted,    // verified certificate, but not on the permitted list
  kFramingError,        // oversize or malformed frame: connection closed
  kTruncatedFrame,      // half-sent frame at disconnect
  kConnectionLimit,     // refused: too many connections or handshakes
  kAgentRefused,        // trailkeep/1 connection refused (no certificate, host binding)
  // One legacy sender's event dropped: its certificate does not speak for
  // the HOSTNAME it claims (hostname_binding = "refuse"); the connection goes on.
  kHostnameRefused,
};

// Extra name/value pairs a connection event is recorded with.
using ConnectionFields = std::vector<std::pair<std::string, std::string>>;

// The collector -> agent direction of one agent connection. Every method may
// be called from any thread; the session serialises the writes.
class AgentLink {
 public:
  virtual ~AgentLink() = default;
  virtual void SendResume(uint64_t epoch, uint64_t contiguous_seq, const std::string& head_mac) = 0;
  virtual void SendAck(uint64_t epoch, uint64_t contiguous_seq) = 0;
  // Sends a Goodbye naming `reason`, then closes the connection.
  virtual void Close(const std::string& reason) = 0;
  // Sends a Pause naming `reason` (paused) or a Proceed: the agent stops
  // sending events, keeping its connection, until the Proceed.
  virtual void SendPause(bool paused, const std::string& reason) {
    (void)paused;
    (void)reason;
  }
};

class IngestSink {
 public:
  virtual ~IngestSink() = default;
  // On true, the frames were taken (batch->frames is empty), and
  // `on_durable`, unless empty, runs on the committer thread once they are
  // durably stored, so the session can acknowledge them (port 60). On false
  // (full) nothing was taken: the same frames may be offered again. A bound
  // agent's frame naming another host refuses its connection: that frame and
  // those after it are dropped. A legacy sender's frame that its listener's
  // hostname_binding refuses is dropped alone (and recorded) once the batch
  // is taken. For port-60 records, the peer's bound_host
  // names the tunnel's node, if any.
  virtual bool Offer(IngestBatch* batch, std::function<void()> on_durable) = 0;
};

class ConnectionReporter {
 public:
  virtual ~ConnectionReporter() = default;
  virtual void ReportConnectionEvent(ConnectionEventKind kind, const v1::Peer& peer,
                                     const std::string& reason,
                                     const ConnectionFields& fields = {}) = 0;
};

class AgentBinder {
 public:
  virtual ~AgentBinder() = default;
  // An authenticated agent connected: returns the host it is bound to (from
  // its certificate), or "" with *why set when it is refused. Once bound, a
  // newer connection of the host closes this one, and `link` gets a Resume
  // computed after every frame offered before this call.
  virtual std::string BindAgent(const v1::Peer& peer, std::shared_ptr<AgentLink> link,
                                std::string* why) = 0;
  // The connection of `link` ended.
  virtual void UnbindAgent(const std::string& host, const AgentLink* link) = 0;
};

// What a listener is given and hands on to its sessions; all must outlive it.
struct IngestPorts {
  IngestSink* ingest = nullptr;
  ConnectionReporter* reports = nullptr;
  AgentBinder* agents = nullptr;
};

}  // namespace trailkeep
