// TlsReload: SIGHUP's part for the [tls] material (certificate and key, CA
// bundle, CRL) of every TLS listener: the syslog/agent port (port-60 agents
// included, they are adopted by it) and the HTTPS API.
//
// The key must still be private (file_access.h) and every file usable (the
// key matching the certificate): otherwise the whole reload is refused,
// recorded as TLS_RELOAD_FAILED naming the file and reason, and every
// listener keeps its old material. Otherwise new handshakes use the new
// material at once, each live peer is re-checked against the new CA and CRL
// and the ones refused are closed, each recorded as PEER_REVOKED. Into the
// ReloadReport go the settings whose files changed (by content, since the
// last material taken in), the server certificate's SHA-256 fingerprint and
// the number of peers closed; the CA's and CRL's fingerprints are the trust
// anchors' part (config_trail.h).
//
// Concurrency: Reload on the strand that handles SIGHUP.
#pragma once

#include <map>
#include <string>

#include "server/app/file_access.h"
#include "server/net/tls_options.h"

namespace trailkeep {

class ExportHttpsServer;
class SelfAudit;
class TlsSyslogListener;
struct ReloadReport;

class TlsReload {
 public:
  struct Targets {
    TlsOptions tls;   // the files to read again ([tls])
    FileOwner owner;  // who must own the private key
    TlsSyslogListener* listener = nullptr;
    ExportHttpsServer* export_api = nullptr;
    SelfAudit* audit = nullptr;
  };
  // Notes the files' contents in force (start-up). Targets outlive this.
  explicit TlsReload(Targets targets);

  void Reload(ReloadReport* report);

 private:
  using Digests = std::map<std::string, std::string>;  // setting -> SHA-256 of the file
  Digests DigestFiles() const;
  void Refuse(const std::string& why, ReloadReport* report);

  const Targets targets_;
  Digests in_force_;
};

}  // namespace trailkeep
