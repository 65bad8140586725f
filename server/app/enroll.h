// `trailkeepd enroll HOST --out DIR [--config FILE | --dev DIR] [--days N] [--force]`:
// everything one agent needs, made on the collector's machine.
// `trailkeepd enroll HOST --rotate --out DIR ...`: a new HMAC key for an
// enrolled host (docs/operations.md, 'Rotate an agent's HMAC key').
//
// In DIR (created mode 0700): agent.key (EC P-256, 0600), agent.crt (CN and
// SAN DNS:HOST, EKU clientAuth, signed by the config's enroll CA), ca.crt (the
// enroll CA certificate), hmac.key (a fresh chain key, 0600) and agent.toml (a
// ready agent config naming those files). The same HMAC key is installed as
// <keys_dir>/HOST.key (0600, tmp + rename) so the collector verifies the new
// agent's chain. An enrolled host is enrolled again only with --force, which
// renews the certificate and keeps the installed HMAC key (the bundle's
// hmac.key is a copy of it), so the agent's chain goes on.
// --rotate writes only hmac.key in DIR: a fresh key, installed as HOST.key
// after the current one is kept as <keys_dir>/HOST.retired/<id>.key
// (common/wire/key_folder.h); the agent switches to it on SIGHUP at one
// chain element and old events still verify. When the config names a [server] user, the
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
  bool rotate = false;
};

int RunEnroll(const EnrollOptions& options);

// RFC 1123 host name: dot-separated labels of 1-63 letters, digits and
// hyphens, no label starting or ending with a hyphen, at most 253 characters.
bool IsValidDnsName(const std::string& name);

}  // namespace trailkeep
