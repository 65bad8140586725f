// `trailkeepd enroll HOST --out DIR [--config FILE | --dev DIR] [--days N] [--force]`:
// everything one agent needs, made on the collector's machine.
//
// In DIR (created mode 0700): agent.key (EC P-256, 0600), agent.crt (CN and
// SAN DNS:HOST, EKU clientAuth, signed by the config's enroll CA), ca.crt (the
// enroll CA certificate), hmac.key (a fresh chain key, 0600) and agent.toml (a
// ready agent config naming those files). The same HMAC key is installed as
// <keys_dir>/HOST.key (0600, tmp + rename) so the collector verifies the new
// agent's chain; an existing key is replaced only with --force, since a new
// key starts a new chain. When the config names a [server] user, the
// installed key (and a keys_dir enroll creates) belongs to that user, which
// reads it after start-up: run as root, enroll chowns it; run as anyone but
// root or that user, it refuses. Errors are one line on stderr; the return value is
// the process exit code (0 done, 2 refused or failed).
#pragma once

#include <string>

namespace trailkeep {

struct EnrollOptions {
  std::string host;
  std::string out_dir;
  std::string config_file;  // one of config_file and dev_dir
  std::string dev_dir;
  int days = 825;
  bool force = false;
};

int RunEnroll(const EnrollOptions& options);

// RFC 1123 host name: dot-separated labels of 1-63 letters, digits and
// hyphens, no label starting or ending with a hyphen, at most 253 characters.
bool IsValidDnsName(const std::string& name);

}  // namespace trailkeep
