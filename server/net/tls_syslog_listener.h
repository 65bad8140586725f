// RFC 5425 listener: accepts TLS connections on every configured address and
// runs one TlsSyslogSession per connection, each on its own strand.
//
// Limits bound memory under floods: at most max_connections sessions and at
// most max_handshakes of them still handshaking, of which at most
// max_handshakes_per_peer from one IP address (so one peer's idle sockets
// cannot hold every handshake slot); connections beyond any are closed at
// once and reported (the self-audit rate-limits those reports).
//
// Concurrency: Start/Stop from the composition root; everything else runs on
// the io_context's threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/status.h"
#include "common/metrics/counter_registry.h"
#include "server/net/ingest.h"
#include "server/net/server_tls.h"
#include "server/net/tls_options.h"

namespace boost::asio {
class io_context;
}

namespace trailkeep {

struct AdoptedConnection;

struct TlsSyslogOptions {
  std::vector<std::string> addresses;  // "host:port"; port 0 picks a free port
  TlsOptions tls;
  size_t max_frame_bytes = 64 * 1024;
  int handshake_timeout_ms = 10'000;
  int idle_timeout_ms = 600'000;
  size_t max_connections = 10'000;
  size_t max_handshakes = 1'000;
  size_t max_handshakes_per_peer = 64;
  // The frames' receive times (deadlines run on Asio's timers).
  ClockPtr clock = MakeSystemClock();
};

// Counters shared by the listener and its sessions.
struct TlsSyslogCounters {
  std::atomic<size_t> connections{0};
  std::atomic<size_t> handshaking{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> frames{0};
  // Frames read but not yet handed to the pipeline (held while the commit
  // queue is full): shutdown waits for this to reach 0 before it stops.
  std::atomic<uint64_t> frames_held{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> framing_errors{0};
  // Frames queued to agents behind a stalled write (Resume, Ack, Goodbye),
  // and connections closed because that queue passed its bound.
  std::atomic<uint64_t> outbox_bytes{0};
  std::atomic<uint64_t> outbox_overflows{0};
};

class TlsSyslogListener {
 public:
  // Binds every address and starts accepting. Throws std::runtime_error on a
  // bad address, a port in use or an unusable certificate (start-up only).
  // The counters are registered in `metrics` (syslog_*), which must outlive
  // the listener.
  TlsSyslogListener(boost::asio::io_context& io, const TlsSyslogOptions& options, IngestPorts ports,
                    CounterRegistry& metrics);
  ~TlsSyslogListener();
  TlsSyslogListener(const TlsSyslogListener&) = delete;
  TlsSyslogListener& operator=(const TlsSyslogListener&) = delete;

  // "ip:port" of every bound socket, with the real port when 0 was asked.
  std::vector<std::string> BoundAddresses() const;
  // Runs a session, as if accepted here, on a connection another listener
  // accepted (a trailkeep agent on port 60, after its hello).
  void Adopt(AdoptedConnection&& connection);
  // Reads the certificate, key, CA bundle and CRL files again (SIGHUP): new
  // handshakes, here and on adopted port-60 connections, use them, and every
  // open connection's client certificate is checked against the new CA and
  // CRL; the ones refused are closed and returned (the caller records them).
  // A file that cannot be used is returned as the error and changes nothing.
  Result<std::vector<WithdrawnPeer>> ReloadTls();
  // Stops accepting. Open sessions end when the io_context stops; frames
  // they already handed to the sink are kept.
  void Stop();
  const TlsSyslogCounters& counters() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  CounterRegistry::Registration metrics_;  // reads impl_'s counters: dropped first
};

}  // namespace trailkeep
