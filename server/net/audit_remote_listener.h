// Port-60 listener: accepts TCP connections speaking auditd's remote-logging
// protocol (docs/formats/audit_remote.md), as stock `audisp-remote` sends it,
// and runs one AuditRemoteSession per connection on its own strand.
//
// A connection that starts with a trailkeep agent's hello instead is answered
// and handed to the TLS syslog listener (agent_wire.md, "Over port 60").
//
// The sender's identity comes from the channel: a reverse SSH tunnel hands
// its channels in process (Serve) with the tunnel's node; a TCP peer is
// known by its address.
//
// Concurrency: construct/Stop from the composition root; the rest runs on the
// io_context's threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/metrics/counter_registry.h"
#include "server/net/ingest.h"

namespace boost::asio {
class io_context;
}

namespace trailkeep {

class ByteStream;
struct ChannelIdentity;
class TlsSyslogListener;

struct AuditRemoteOptions {
  std::vector<std::string> addresses;  // "host:port"; port 0 picks a free port
  size_t max_payload_bytes = 8970;     // MAX_AUDIT_MESSAGE_LENGTH
  // Records waiting for their acknowledgement before the session stops
  // reading (audisp-remote has one; a flood without reading replies stalls).
  size_t max_pending_replies = 256;
  // A record not durable after this long is answered DISKFULL (the client
  // keeps it and resends it), before audisp-remote's 5 s reply timeout.
  int blocked_reply_ms = 2'000;
  int idle_timeout_ms = 0;  // close connections silent this long; 0: never
  size_t max_connections = 10'000;
  // Raised while the store's disk is below its warning level (SpaceWatch):
  // stored records are then answered DISKLOW instead of ACK. May be null.
  std::shared_ptr<const std::atomic<bool>> disk_low;
  // Raised while the store's disk is below admin_space_left under "block"
  // (SpaceWatch): a record the store refuses is answered DISKFULL at once and
  // not kept, as auditd does on a full disk (the client resends it), rather
  // than held for blocked_reply_ms. May be null.
  std::shared_ptr<const std::atomic<bool>> disk_full;
  // The records' receive times (the replies' deadlines run on Asio's timers).
  ClockPtr clock = MakeSystemClock();
};

struct AuditRemoteCounters {
  std::atomic<size_t> connections{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> records{0};
  std::atomic<uint64_t> heartbeats{0};
  std::atomic<uint64_t> ascii_lines{0};
  std::atomic<uint64_t> disk_full_replies{0};
  std::atomic<uint64_t> framing_errors{0};
};

class AuditRemoteListener {
 public:
  // Binds every address and starts accepting. Throws std::runtime_error on a
  // bad address or a port in use (start-up only). Trailkeep agents (their
  // hello, common/wire/port60_hello.h) are handed to `agents` for their TLS
  // session; null refuses them. The counters are registered in `metrics`
  // (audit_remote_*), which must outlive the listener.
  AuditRemoteListener(boost::asio::io_context& io, const AuditRemoteOptions& options,
                      IngestPorts ports, TlsSyslogListener* agents, CounterRegistry& metrics);
  ~AuditRemoteListener();
  AuditRemoteListener(const AuditRemoteListener&) = delete;
  AuditRemoteListener& operator=(const AuditRemoteListener&) = delete;

  std::vector<std::string> BoundAddresses() const;
  // What /metrics shows as audit_remote_* (also read by tests).
  const AuditRemoteCounters& counters() const;
  // Runs a session, as if accepted here, on a channel that reached the
  // collector another way (a reverse SSH tunnel's); call on the stream's
  // executor. The identity names the sender (identity.tunnel: its node).
  void Serve(std::unique_ptr<ByteStream> stream, const ChannelIdentity& identity);
  // Stops accepting and tells every open session's client that the server
  // is ending (ENDING, as auditd does at shutdown), then closes them.
  void Stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  CounterRegistry::Registration metrics_;  // reads impl_'s counters: dropped first
};

}  // namespace trailkeep
