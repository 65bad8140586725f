// What the HTTPS API's sessions and endpoints share: the server's options,
// its collaborators (store, self-audit, tail hub, chain keys), the read and
// verify pools, the connection gate, the tokens in force, the counters of
// GET /metrics and the open tails' re-checks. Internal to server/sinks.
//
// Thread-safety: options and collaborators are const after construction;
// `auth` under auth_mu, `tail_rechecks` under tails_mu, counters atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "server/net/connection_gate.h"
#include "server/net/server_tls.h"
#include "server/sinks/export_https_server.h"

namespace trailkeep {

struct ApiCounters {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> denied{0};
  std::atomic<uint64_t> events_exported{0};
  std::atomic<uint64_t> tail_sessions{0};
  std::atomic<uint64_t> tail_events{0};
  std::atomic<uint64_t> tail_missed{0};
  std::atomic<uint64_t> tls_failures{0};
  std::atomic<uint64_t> connections_refused{0};
  std::atomic<uint64_t> connections_evicted{0};
  std::atomic<size_t> streams{0};
  std::atomic<size_t> verifies{0};
  std::atomic<uint64_t> verify_runs{0};
};

struct ExportHttpsServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(boost::asio::io_context& io_in, const ExportServerOptions& o, const Store* s, SelfAudit* a,
       CounterRegistry* m, LiveTailHub* h, ChainKeyLookup k);

  void Admit(boost::asio::ip::tcp::socket sock);

  // The options' tokens plus the token file's, and the client rules.
  Result<std::shared_ptr<const ApiAuthenticator>> LoadAuthenticator() const;

  // The authenticator in force; a request keeps the one it started with.
  std::shared_ptr<const ApiAuthenticator> Auth() const {
    std::lock_guard<std::mutex> lock(auth_mu);
    return auth;
  }

  boost::asio::io_context& io;
  const ExportServerOptions options;
  const Store* const store;
  SelfAudit* const audit;
  CounterRegistry* const metrics;  // everything GET /metrics serves
  LiveTailHub* const hub;
  const ChainKeyLookup chain_keys;
  std::shared_ptr<ServerTls> tls;  // its context replaced on SIGHUP
  mutable std::mutex auth_mu;
  std::shared_ptr<const ApiAuthenticator> auth;  // GUARDED_BY(auth_mu); replaced on SIGHUP
  boost::asio::thread_pool pool;                 // store reads
  boost::asio::thread_pool verify_pool;          // chain re-verification (long scans)
  ConnectionGate gate;                           // admission by peer address, before TLS
  ApiCounters counters;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors;

  // Open /v1/tail streams: each entry posts a re-check of the stream's
  // credentials to its session, run after the tokens are reloaded.
  std::mutex tails_mu;
  std::map<uint64_t, std::function<void()>> tail_rechecks;  // GUARDED_BY(tails_mu)
  uint64_t next_tail_id = 0;                                // GUARDED_BY(tails_mu)
};

}  // namespace trailkeep
