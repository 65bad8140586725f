// The client side of trailkeep's TLS: one set-up for the agent's collector
// link and the CLI's API client, so both offer the same profile and check
// the server's certificate the same way.
//
// ConfigureTlsClient: the profile (common/tls/tls_profile.h), peer
// verification on, the trust anchors (ca_file, or the system's store when
// use_system_store and no ca_file; a ca_file without any CA or self-signed
// certificate is refused), and the client's identity when given
// (cert_file and key_file go together; the key must match). Errors are
// InvalidArgument naming the file and OpenSSL's reason; callers add which
// setting it came from.
//
// SetTlsServerName, per connection before the handshake: SNI when `name` is
// a DNS name; when check_name, the certificate must name it (dNSName, or an
// iPAddress when `name` is an address).
//
// TlsVerifyFailure, after a failed handshake: the certificate verification
// error of `ssl` ("certificate has expired", ...), or "" when the
// certificate was not the problem.
#pragma once

#include <string>

#include "common/base/status.h"
#include "common/tls/tls_profile.h"

typedef struct ssl_st SSL;

namespace trailkeep {

struct TlsClientOptions {
  TlsProfile profile = TlsProfile::kNdcpp;
  std::string ca_file;            // PEM trust anchors
  bool use_system_store = false;  // when ca_file is empty
  std::string cert_file;          // PEM chain, leaf first
  std::string key_file;
};

Status ConfigureTlsClient(SSL_CTX* ctx, const TlsClientOptions& options);

void SetTlsServerName(SSL* ssl, const std::string& name, bool check_name);

std::string TlsVerifyFailure(SSL* ssl);

}  // namespace trailkeep
