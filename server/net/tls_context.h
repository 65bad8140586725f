// Server-side TLS context and peer identity for the syslog listener.
//
// MakeServerTlsContext builds an OpenSSL context with the options' TLS
// profile (common/tls/tls_profile.h: TLS 1.2 and 1.3, AEAD suites, the
// profile's groups, no compression or renegotiation), no session resumption
// unless session tickets are configured (a client that never reads TLS 1.3
// tickets resets the connection at close and loses data, see
// docs/performance.md), and client-certificate verification per ClientAuth
// with CRL checks when a CRL file is configured. Throws std::runtime_error
// with the file and OpenSSL's reason: it runs at start-up only.
// BuildServerTlsContext does the same and returns the error instead (a
// reload on SIGHUP, which keeps the old context when the files are broken).
#pragma once

#include <memory>
#include <string>

#include "common/base/status.h"
#include "server/net/tls_options.h"

typedef struct ssl_st SSL;
typedef struct x509_st X509;

namespace boost::asio::ssl {
class context;
}

namespace trailkeep::v1 {
class Peer;
}

namespace trailkeep {

std::shared_ptr<boost::asio::ssl::context> MakeServerTlsContext(const TlsOptions& options);
Result<std::shared_ptr<boost::asio::ssl::context>> BuildServerTlsContext(const TlsOptions& options);

// "sha-256:AB:CD:..." (v1::Peer.cert_sha256's form); "" for null.
std::string CertificateSha256(X509* cert);

// The ALPN protocol of agent connections (docs/formats/agent_wire.md).
inline constexpr char kAgentAlpn[] = "trailkeep/1";

// Makes `ctx` select kAgentAlpn when a client offers it; other clients
// (plain RFC 5425 senders) see no ALPN answer and are served as before.
void EnableAgentAlpn(boost::asio::ssl::context* ctx);
// True when the handshake of `ssl` selected kAgentAlpn.
bool AgentAlpnSelected(SSL* ssl);

// Fills the certificate fields of *peer from the verified client certificate
// of `ssl` (subject, its single CN read with the X.509 API, SHA-256
// fingerprint, SAN dNSNames); authenticated is set only when a certificate
// was presented and verified.
void FillPeerFromTls(SSL* ssl, v1::Peer* peer);

// Applies permitted_peers / permitted_fingerprints to an authenticated peer:
// names are its SAN dNSNames, or cert_common_name when it has none.
// Unauthenticated peers (ClientAuth::kOptional without a certificate) pass:
// their events are marked as such. Sets *why when refusing.
bool PeerPermitted(const TlsOptions& options, const v1::Peer& peer, std::string* why);

// RFC 5425 name matching: '*' only as the whole left-most label, one label.
bool DnsNameMatches(const std::string& pattern, const std::string& name);

}  // namespace trailkeep
