#include "common/tls/tls_profile.h"

#include <openssl/ssl.h>

#include "common/tls/openssl_error.h"

namespace trailkeep {
namespace {

struct ProfileLists {
  const char* tls12_ciphers;
  const char* tls13_suites;
  const char* groups;   // the client's key share goes to the first
  const char* sigalgs;  // nullptr: OpenSSL's default
};

// A server prefers in this order: ECDHE before DHE (cheaper), AES-128-GCM
// before AES-256-GCM (cheaper, and strong enough for the NDcPP).
constexpr ProfileLists kNdcppLists = {
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384",
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384",
    "P-256:P-384:P-521:ffdhe2048:ffdhe3072:ffdhe4096",
    "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:"
    "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:"
    "rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512:"
    "RSA+SHA256:RSA+SHA384:RSA+SHA512",
};

constexpr ProfileLists kModernLists = {
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384",
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
    "X25519:P-256:X448:P-384:P-521:ffdhe2048:ffdhe3072:ffdhe4096",
    nullptr,
};

}  // namespace

std::optional<TlsProfile> ParseTlsProfile(std::string_view name) {
  if (name == "ndcpp") return TlsProfile::kNdcpp;
  if (name == "modern") return TlsProfile::kModern;
  return std::nullopt;
}

std::string_view TlsProfileName(TlsProfile profile) {
  return profile == TlsProfile::kModern ? "modern" : "ndcpp";
}

Status ApplyTlsProfile(SSL_CTX* ctx, TlsProfile profile) {
  const ProfileLists& l = profile == TlsProfile::kModern ? kModernLists : kNdcppLists;
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return OpenSslError("TLS profile: OpenSSL refused the protocol versions");
  }
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(ctx, l.tls12_ciphers) != 1)
    return OpenSslError("TLS profile: OpenSSL refused the TLS 1.2 cipher list");
  if (SSL_CTX_set_ciphersuites(ctx, l.tls13_suites) != 1)
    return OpenSslError("TLS profile: OpenSSL refused the TLS 1.3 suites");
  if (SSL_CTX_set1_groups_list(ctx, l.groups) != 1)
    return OpenSslError("TLS profile: OpenSSL refused the group list");
  if (l.sigalgs != nullptr && SSL_CTX_set1_sigalgs_list(ctx, l.sigalgs) != 1) {
    return OpenSslError("TLS profile: OpenSSL refused the signature algorithms");
  }
  // DHE-RSA (TLS 1.2): RFC 7919 parameters sized to the certificate's key.
  SSL_CTX_set_dh_auto(ctx, 1);
  SSL_CTX_set_max_early_data(ctx, 0);
  return Status::Ok();
}

}  // namespace trailkeep
