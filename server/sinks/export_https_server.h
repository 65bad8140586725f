// ExportHttpsServer: the collector's HTTPS API on [[listen.export]]
// (docs/api.md): GET /v1/events (SIEM export by exact cursor), GET /v1/hosts,
// GET /v1/tail (live tail), GET /v1/integrity (recorded integrity events),
// GET /v1/verify (streamed chain re-verification), GET /metrics. Boost.Beast over TLS 1.2/1.3 with
// the collector's server certificate; client certificates are optional and verified against
// tls.ca_file when presented; bearer tokens from the token file.
//
// Every refusal (401/403) and every successful API request is recorded
// through SelfAudit (API_DENIED / API_ACCESS) with who, from where and which
// filter.
//
// Threads: sessions run on the shared io_context, one strand each. Store
// reads (pages, host lists, integrity, metrics) run on a small dedicated
// thread pool, chain re-verification on a thread of its own; both post their
// results back to the session's strand, so no I/O thread waits on RocksDB. Memory is bounded: a
// page holds at most max_limit events, and at most max_streams event responses are in flight (more
// get 503).
//
// GET /metrics serves every sample of the CounterRegistry; the server
// registers its own counters and the store's per-host samples there.
//
// Lifetime: `store`, `audit` and the metrics registry must outlive the server.
// The destructor stops accepting and joins the read pool; call it before the
// store is closed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/metrics/counter_registry.h"
#include "common/wire/key_folder.h"
#include "server/net/server_tls.h"
#include "server/net/tls_options.h"
#include "server/sinks/export_auth.h"

namespace boost::asio {
class io_context;
}

namespace trailkeep {

class Store;
class SelfAudit;
class LiveTailHub;

struct ExportServerOptions {
  std::vector<std::string> addresses;  // "host:port"; port 0 picks a free port
  TlsOptions tls;                      // server certificate; ca_file/crl_file for clients
  std::string token_file;              // "" = no tokens (client certificates only)
  std::string backup_dir;              // POST /v1/backup writes here; "" = no backups
  std::vector<TokenEntry> tokens;      // extra entries (tests); merged with the file's
  std::vector<ClientRule> clients;     // [[export.client]]
  uint64_t default_limit = 1000;
  uint64_t max_limit = 10000;
  int read_threads = 2;
  // Connection admission (server/net/connection_gate.h): refused at accept,
  // before any TLS, and recorded as CONNECTION_LIMIT.
  size_t max_connections = 256;
  size_t reserved_connections = 32;      // of max_connections, for authenticated clients only
  size_t max_connections_per_peer = 32;  // per peer IP address
  size_t max_handshakes_per_peer = 8;    // per peer IP address, TLS handshake not done
  size_t max_streams = 16;               // concurrent /v1/events responses
  int handshake_timeout_ms = 10'000;
  int first_request_timeout_ms = 10'000;  // after the handshake, for the first request's header
  int idle_timeout_ms = 60'000;           // between requests
  int write_timeout_ms = 60'000;          // per chunk written to a slow reader
  int tail_heartbeat_ms = 10'000;         // /v1/tail: a heartbeat line after this much silence
  uint32_t enterprise_number = 32473;     // of the chain element (GET /v1/verify)
  size_t max_verifies = 2;                // concurrent GET /v1/verify runs (more get 503)
  // "now" of relative times ("since=15m"), backup names and tail heartbeats.
  ClockPtr clock = MakeSystemClock();
};

// The HMAC keys of a host for GET /v1/verify (the current one first, then
// the retired ones): null, with *why set, when the host has none. Called
// from a worker thread.
using ChainKeyLookup =
    std::function<std::shared_ptr<const HostKeys>(const std::string& host, std::string* why)>;

class ExportHttpsServer {
 public:
  // Binds every address, loads the token file and starts accepting. Throws
  // std::runtime_error on a bad address, a port in use, an unusable
  // certificate or a bad token file (start-up only). `tail_hub` (may be null:
  // /v1/tail then answers 503) must be registered as a Committer listener and
  // outlive the server. Without `chain_keys`, /v1/verify answers 503.
  ExportHttpsServer(boost::asio::io_context& io, const ExportServerOptions& options,
                    const Store* store, SelfAudit* audit, CounterRegistry* metrics,
                    LiveTailHub* tail_hub = nullptr, ChainKeyLookup chain_keys = {});
  ~ExportHttpsServer();
  ExportHttpsServer(const ExportHttpsServer&) = delete;
  ExportHttpsServer& operator=(const ExportHttpsServer&) = delete;

  std::vector<std::string> BoundAddresses() const;
  // Stops accepting (thread-safe). Open sessions end when the io_context stops.
  void Stop();
  // Re-reads the token file (SIGHUP). A valid file replaces the tokens for
  // every later request; an invalid one leaves the old tokens in force. Either
  // way a collector event (API_TOKENS_RELOADED / _RELOAD_FAILED) says so.
  // After a valid reload, every open /v1/tail whose token is gone or no longer
  // grants it the same way (tail scope, host patterns) is ended with a 401
  // line and recorded as API_DENIED. Thread-safe.
  Status ReloadTokens();
  // Reads the certificate, key, CA bundle and CRL files again (SIGHUP); see
  // TlsSyslogListener::ReloadTls. Open connections whose client certificate
  // is refused now are closed and returned. Thread-safe.
  Result<std::vector<WithdrawnPeer>> ReloadTls();

  struct Impl;  // the .cc's sessions share it; not for other files

 private:
  std::shared_ptr<Impl> impl_;
  CounterRegistry::Registration metrics_;  // reads impl_'s counters: dropped first
};

}  // namespace trailkeep
