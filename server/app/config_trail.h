// ConfigTrail: what the collector's own trail says of its configuration.
// At start-up it notes the configuration file's canonical rendering
// (config_rendering.h) and the trust anchors in force (trust_anchors.h);
// StartFields() are COLLECTOR_START's fields. On SIGHUP, Reload() reads the
// file and the anchors again and adds to that reload's ReloadReport
// (CONFIG_RELOADED, docs/event-schema.md):
//   config_sha256           SHA-256 of the file's canonical rendering: the
//                           same for an edit that changes no setting
//   config_file_sha256      SHA-256 of the file's bytes
//   config_changed          the keys changed since the previous reading,
//                           each also in `changed` as "config:<key>"
//   config_restart_pending  "1" when the file no longer renders as the one
//                           the collector started with: settings of the
//                           file itself take effect at the next start (a
//                           reload re-reads the files they name)
//   ca_sha256, crl_sha256, pinned_fingerprints, known_hosts_sha256: the
//   anchors in force, and anchors_changed naming the ones that changed.
// A file that cannot be read or parsed adds config_error and "config" to
// `refused`; the previous reading stays the one compared against. The CA
// and CRL are in force only when the TLS part took them: when it refused,
// the previous fingerprints are kept (call Reload after TlsReload).
//
// Concurrency: Reload on the strand that handles SIGHUP.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "server/app/config_rendering.h"
#include "server/app/trust_anchors.h"

namespace trailkeep {

struct ServerConfig;
struct ReloadReport;

class ConfigTrail {
 public:
  using Fields = std::vector<std::pair<std::string, std::string>>;

  // Reads config.source (a real file unless dev mode) and the anchors.
  // `config` outlives this.
  explicit ConfigTrail(const ServerConfig& config);

  // config_sha256, config_file_sha256 (config_error instead when the file
  // could not be read again), then the anchors' fields.
  Fields StartFields() const;

  void Reload(ReloadReport* report);

 private:
  struct Reading {
    ConfigRendering rendering;
    std::string sha256;       // of the rendering
    std::string file_sha256;  // of the bytes
    std::string error;        // "" when read and parsed
  };
  Reading Read() const;

  const ServerConfig& config_;
  Reading started_;  // the configuration the collector runs with
  Reading last_;     // the last good reading, what a reload compares with
  TrustAnchors anchors_;
};

}  // namespace trailkeep
