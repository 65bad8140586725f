// IngestSink: all that server/net knows of the collector's core.
//
// A source turns bytes into RawFrames (bytes + peer identity + receive time)
// and offers them; the sink parses and queues them for commit. When the sink
// is full, Offer() returns false and the source keeps its frames, stops
// reading its socket and retries later: back-pressure, never a drop.
// Connection-level events (refused handshakes, framing errors) go to
// ReportConnectionEvent so the collector can audit them.
//
// Agent connections (TLS with ALPN trailkeep/1, docs/formats/agent_wire.md)
// also bind to a host with BindAgent and get their Resume and Acks through
// the AgentLink they hand over.
//
// Concurrency: every method may be called from any I/O thread at once.
#pragma once

#include <cstdint>
#include <functional>
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
  kAgentRefused,        // trailkeep/1 connection refused (no certificate, host binding)
};

// The collector -> agent direction of one agent connection. Every method may
// be called from any thread; the session serialises the writes.
class AgentLink {
 public:
  virtual ~AgentLink() = default;
  virtual void SendResume(uint64_t epoch, uint64_t contiguous_seq, const std::string& head_mac) = 0;
  virtual void SendAck(uint64_t epoch, uint64_t contiguous_seq) = 0;
  // Sends a Goodbye naming `reason`, then closes the connection.
  virtual void Close(const std::string& reason) = 0;
};

class IngestSink {
 public:
  virtual ~IngestSink() = default;
  // On true, the frames were taken and `frames` is empty.
  virtual bool Offer(std::vector<RawFrame>* frames) = 0;
  // auditd records from the port-60 listener, one record per frame (the
  // peer's bound_host names the tunnel's node, if any). All or nothing, as
  // Offer(); once taken, `on_durable` runs (on the committer thread) when
  // they are durably stored, so the session can acknowledge them.
  virtual bool OfferAuditRecords(std::vector<RawFrame>* frames,
                                 std::function<void()> on_durable) = 0;
  virtual void ReportConnectionEvent(ConnectionEventKind kind, const v1::Peer& peer,
                                     const std::string& reason) = 0;

  // An authenticated agent connected: returns the host it is bound to (from
  // its certificate), or "" with *why set when it is refused. Once bound, a
  // newer connection of the host closes this one, and `link` gets a Resume
  // computed after every frame offered before this call.
  virtual std::string BindAgent(const v1::Peer& peer, std::shared_ptr<AgentLink> link,
                                std::string* why) = 0;
  // The connection of `link` ended.
  virtual void UnbindAgent(const std::string& host, const AgentLink* link) = 0;
};

}  // namespace trailkeep
