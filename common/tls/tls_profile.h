// The TLS profiles of every trailkeep endpoint, server and client alike (the
// collector's syslog, agent and HTTPS ports; the agent; the CLI).
//
// kNdcpp ("ndcpp", the default): what the NDcPP's TLS packages evaluate.
//   TLS 1.2 and 1.3 only. TLS 1.3 suites TLS_AES_128_GCM_SHA256 and
//   TLS_AES_256_GCM_SHA384; TLS 1.2 suites ECDHE-ECDSA/ECDHE-RSA with
//   AES-128/256-GCM, then DHE-RSA with AES-128/256-GCM (RFC 7919 parameters
//   matching the key's strength). Groups secp256r1, secp384r1, secp521r1,
//   ffdhe2048, ffdhe3072, ffdhe4096. Signatures ECDSA, RSA-PSS and RSA
//   PKCS#1 with SHA-256/384/512. No ChaCha20-Poly1305, X25519 or X448.
// kModern ("modern"): the same plus ChaCha20-Poly1305, X25519 and X448 and
//   OpenSSL's default signature algorithms, for fleets that want them and
//   are not evaluated against the NDcPP.
// Both: no compression, no renegotiation, no 0-RTT data. Session resumption
// is the server's choice (server/net/tls_context.h).
#pragma once

#include <optional>
#include <string_view>

#include "common/base/status.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace trailkeep {

enum class TlsProfile { kNdcpp, kModern };

// "ndcpp" / "modern"; nullopt for anything else.
std::optional<TlsProfile> ParseTlsProfile(std::string_view name);
std::string_view TlsProfileName(TlsProfile profile);

// Sets the profile's versions, suites, groups, signature algorithms and
// options on `ctx` (a client or a server context). InvalidArgument, with
// OpenSSL's reason, if this OpenSSL refuses a list.
Status ApplyTlsProfile(SSL_CTX* ctx, TlsProfile profile);

}  // namespace trailkeep
