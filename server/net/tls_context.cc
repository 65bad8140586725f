#include "server/net/tls_context.h"

#include <cstring>
#include <stdexcept>

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/base/bytes.h"
#include "common/tls/openssl_error.h"
#include "common/tls/tls_profile.h"
#include "common/x509/subject_name.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

Status LoadCrls(SSL_CTX* ctx, const std::string& file) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
  if (lookup == nullptr || X509_load_crl_file(lookup, file.c_str(), X509_FILETYPE_PEM) <= 0) {
    return OpenSslError("cannot load CRLs from " + file);
  }
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  return Status::Ok();
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "SHA256:AB:.." (rsyslog) and "sha-256:ab:.." (RFC 5425) compare equal.
std::string NormalizeFingerprint(const std::string& fp) {
  std::string s = Lower(fp);
  if (s.rfind("sha256:", 0) == 0) s = "sha-256:" + s.substr(7);
  return s;
}

}  // namespace

namespace {

int SelectAgentAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                    unsigned int inlen, void*) {
  const size_t want = sizeof(kAgentAlpn) - 1;
  // `in` is a list of length-prefixed protocol names (RFC 7301).
  for (unsigned int i = 0; i < inlen;) {
    const unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == want && std::memcmp(in + i + 1, kAgentAlpn, want) == 0) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

void EnableAgentAlpn(boost::asio::ssl::context* ctx) {
  SSL_CTX_set_alpn_select_cb(ctx->native_handle(), SelectAgentAlpn, nullptr);
}

bool AgentAlpnSelected(SSL* ssl) {
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &proto, &len);
  return len == sizeof(kAgentAlpn) - 1 && std::memcmp(proto, kAgentAlpn, len) == 0;
}

Result<std::shared_ptr<boost::asio::ssl::context>> BuildServerTlsContext(const TlsOptions& o) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  if (Status s = ApplyTlsProfile(native, o.profile); !s.ok()) return s;
  if (!o.session_tickets) {
    SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(native, 0);
  }
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  // Idle connections (tail subscribers, quiet agents) give their read and
  // write buffers back between records: about 80 KiB each.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);

  if (SSL_CTX_use_certificate_chain_file(native, o.cert_file.c_str()) != 1) {
    return OpenSslError("cannot load the server certificate " + o.cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(native, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return OpenSslError("cannot load the server key " + o.key_file);
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return OpenSslError("the server key " + o.key_file + " does not match " + o.cert_file);
  }
  if (o.client_auth != ClientAuth::kNone) {
    if (o.ca_file.empty()) return Status::InvalidArgument("client_auth needs tls.ca_file");
    if (SSL_CTX_load_verify_locations(native, o.ca_file.c_str(), nullptr) != 1) {
      return OpenSslError("cannot load the client CA " + o.ca_file);
    }
    if (!o.crl_file.empty()) {
      if (Status s = LoadCrls(native, o.crl_file); !s.ok()) return s;
    }
    int mode = SSL_VERIFY_PEER;
    if (o.client_auth == ClientAuth::kRequire) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(native, mode, nullptr);
    // Tell clients which CAs we accept, so they pick the right certificate.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(native, names);
  } else {
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

std::shared_ptr<boost::asio::ssl::context> MakeServerTlsContext(const TlsOptions& o) {
  auto built = BuildServerTlsContext(o);
  if (!built.ok()) throw std::runtime_error(built.status().message());
  return std::move(built).value();
}

std::string CertificateSha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), md, &md_len) != 1) return "";
  return "sha-256:" + HexColon(std::string_view(reinterpret_cast<char*>(md), md_len));
}

void FillPeerFromTls(SSL* ssl, v1::Peer* peer) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return;
  peer->set_authenticated(SSL_get_verify_result(ssl) == X509_V_OK);
  const X509_NAME* subject = X509_get_subject_name(cert);
  peer->set_cert_subject(SubjectRfc2253(subject));
  auto cn = SubjectCommonName(subject);
  if (cn.ok()) peer->set_cert_common_name(cn.value());
  if (auto sha256 = CertificateSha256(cert); !sha256.empty()) peer->set_cert_sha256(sha256);
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type != GEN_DNS) continue;
      const ASN1_IA5STRING* s = gn->d.dNSName;
      std::string name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<size_t>(ASN1_STRING_length(s)));
      // A dNSName is IA5 (ASCII); anything else would make the stored
      // record unreadable (proto3 strings must be UTF-8), so mask it.
      for (char& c : name) {
        if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) c = '?';
      }
      peer->add_cert_dns_names(std::move(name));
    }
    GENERAL_NAMES_free(sans);
  }
  X509_free(cert);
}

bool DnsNameMatches(const std::string& pattern, const std::string& name) {
  const std::string p = Lower(pattern), n = Lower(name);
  if (p.rfind("*.", 0) != 0) return p == n;
  const size_t dot = n.find('.');
  if (dot == std::string::npos || dot == 0) return false;
  return n.substr(dot) == p.substr(1);
}

bool PeerPermitted(const TlsOptions& o, const v1::Peer& peer, std::string* why) {
  if (!peer.authenticated()) return true;
  if (o.permitted_peers.empty() && o.permitted_fingerprints.empty()) return true;
  const std::string fp = NormalizeFingerprint(peer.cert_sha256());
  for (const auto& f : o.permitted_fingerprints) {
    if (NormalizeFingerprint(f) == fp) return true;
  }
  std::vector<std::string> names(peer.cert_dns_names().begin(), peer.cert_dns_names().end());
  // RFC 5425: the CN counts only when there is no SAN dNSName.
  if (names.empty() && !peer.cert_common_name().empty()) names.push_back(peer.cert_common_name());
  for (const auto& allowed : o.permitted_peers) {
    for (const auto& n : names) {
      if (DnsNameMatches(allowed, n)) return true;
    }
  }
  *why = "certificate " + peer.cert_subject() + " (" + peer.cert_sha256() +
         ") is not among the permitted peers";
  return false;
}

}  // namespace trailkeep
