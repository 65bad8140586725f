// ReloadReport: what one SIGHUP changed, recorded as that reload's single
// CONFIG_RELOADED collector event (docs/configuration.md, "Reloading").
// Each part of the reload adds the settings whose files it took in
// (`changed`), the ones it refused (`refused`, the old material kept) and
// detail fields of its own: the rules (rules_file.h), the TLS material
// (tls_reload.h), the configuration file's digest and the trust anchors
// (config_trail.h), in that order.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace trailkeep {

class SelfAudit;

struct ReloadReport {
  std::vector<std::string> changed;  // setting names: "tls.cert_file", ...
  std::vector<std::string> refused;  // setting groups kept as they were: "tls"
  std::vector<std::pair<std::string, std::string>> fields;

  // The CONFIG_RELOADED event: "configuration reloaded; changed: a, b" (or
  // "nothing changed"), "; refused: ..." when some part was; fields
  // `changed`, `refused` (comma-separated, "" when none), then the parts'.
  void Record(SelfAudit* audit) const;
};

// "a<sep>b<sep>c": how the report's lists are written into its fields.
std::string Joined(const std::vector<std::string>& items, const char* sep);

}  // namespace trailkeep
