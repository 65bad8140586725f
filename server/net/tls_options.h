// TLS settings of a listener, as validated configuration (no OpenSSL types).
#pragma once

#include <string>
#include <vector>

#include "common/tls/tls_profile.h"

namespace trailkeep {

enum class ClientAuth { kNone, kOptional, kRequire };

struct TlsOptions {
  std::string cert_file;  // PEM chain, leaf first
  std::string key_file;
  std::string ca_file;   // trust anchors for client certificates
  std::string crl_file;  // optional PEM CRLs; when set, every client chain is checked
  ClientAuth client_auth = ClientAuth::kRequire;
  // When non-empty, a verified client certificate must match one of these
  // names (SAN dNSName, CN as fallback; "*.example.com" wildcards) or one of
  // the fingerprints ("sha-256:AB:..." or rsyslog's "SHA256:AB:...").
  std::vector<std::string> permitted_peers;
  std::vector<std::string> permitted_fingerprints;
  // Versions, suites and groups offered (common/tls/tls_profile.h).
  TlsProfile profile = TlsProfile::kNdcpp;
  // Stateless session tickets (TLS 1.2 and 1.3); off: no resumption at all.
  bool session_tickets = false;
};

}  // namespace trailkeep
