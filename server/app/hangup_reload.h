// HangupReload: on SIGHUP, re-reads what an administrator may change while
// the collector runs: the NDcPP rules (kept when invalid), the agents' HMAC
// keys (each read and checked again on its next use), the private keys'
// modes and owners (a loose one is recorded as KEY_FILE_REFUSED), the API
// tokens and the TLS material of every listener (tls_reload.h), then the
// configuration file's digest and the trust anchors (config_trail.h). Each
// outcome is one of the collector's own events, and the reload as a whole is
// one CONFIG_RELOADED event (reload_report.h).
//
// Concurrency: Start/Stop on the io_context's threads or before it runs.
#pragma once

#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/signal_set.hpp>

#include "server/app/file_access.h"

namespace trailkeep {

struct ServerConfig;
class ExportHttpsServer;
class HmacKeyring;
class RulesHolder;
class SelfAudit;
class TlsReload;
class ConfigTrail;

class HangupReload {
 public:
  struct Targets {
    const ServerConfig* config = nullptr;
    FileOwner owner;         // who must own the private keys
    std::string rules_path;  // RulesPath(config); "" when classification is off
    RulesHolder* rules = nullptr;
    HmacKeyring* keyring = nullptr;
    ExportHttpsServer* export_api = nullptr;
    SelfAudit* audit = nullptr;
    TlsReload* tls = nullptr;
    ConfigTrail* trail = nullptr;
    std::string rules_sha256;  // of the rules loaded at start-up (LoadRules)
  };
  // Every target must outlive this.
  // `exec`: a strand shared with whoever calls Stop (see RunServer).
  HangupReload(const boost::asio::any_io_executor& exec, Targets targets)
      : signal_(exec, SIGHUP), targets_(std::move(targets)), rules_sha256_(targets_.rules_sha256) {}

  void Start();
  void Stop() { signal_.cancel(); }

 private:
  void Reload();

  boost::asio::signal_set signal_;
  const Targets targets_;
  std::string rules_sha256_;  // of the rules in force
};

}  // namespace trailkeep
