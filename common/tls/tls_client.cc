#include "common/tls/tls_client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/tls/openssl_error.h"

namespace trailkeep {
namespace {

// A file of trust anchors that holds no CA (a server's or a client's own
// certificate, given by mistake) loads, but every handshake would then fail
// at the peer's expense: refuse it here, before anything connects.
Status CheckHoldsAnchor(SSL_CTX* ctx, const std::string& file) {
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
  X509* first = nullptr;
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
    X509* cert = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i));
    if (cert == nullptr) continue;  // a CRL
    if (X509_check_ca(cert) > 0 || (X509_get_extension_flags(cert) & EXFLAG_SS) != 0) {
      return Status::Ok();
    }
    if (first == nullptr) first = cert;
  }
  std::string what = "no certificate";
  if (first != nullptr) {
    char name[256];
    X509_NAME_oneline(X509_get_subject_name(first), name, sizeof name);
    what = "no CA certificate: " + std::string(name) + " is not a CA";
  }
  return Status::InvalidArgument("the CA file " + file + " holds " + what +
                                 " (give the CA that issued the server's certificate)");
}

}  // namespace

Status ConfigureTlsClient(SSL_CTX* ctx, const TlsClientOptions& o) {
  if (Status s = ApplyTlsProfile(ctx, o.profile); !s.ok()) return s;
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1) {
      return OpenSslError("cannot load the CA file " + o.ca_file);
    }
    if (Status s = CheckHoldsAnchor(ctx, o.ca_file); !s.ok()) return s;
  } else if (o.use_system_store && SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return OpenSslError("cannot load the system's trust store");
  }
  if (o.cert_file.empty() != o.key_file.empty()) {
    return Status::InvalidArgument("a client certificate and its key go together");
  }
  if (o.cert_file.empty()) return Status::Ok();
  if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1) {
    return OpenSslError("cannot load the certificate " + o.cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return OpenSslError("cannot load the key " + o.key_file);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return OpenSslError("the key " + o.key_file + " does not match the certificate " + o.cert_file);
  }
  return Status::Ok();
}

void SetTlsServerName(SSL* ssl, const std::string& name, bool check_name) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  ASN1_OCTET_STRING* ip = a2i_IPADDRESS(name.c_str());
  if (ip != nullptr) {
    // No SNI for an address (RFC 6066).
    ASN1_OCTET_STRING_free(ip);
    if (check_name) X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    return;
  }
  // SSL_set_tlsext_host_name is a macro with a C cast.
  SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
           const_cast<char*>(name.c_str()));
  if (check_name) SSL_set1_host(ssl, name.c_str());
}

std::string TlsVerifyFailure(SSL* ssl) {
  const long verify = SSL_get_verify_result(ssl);
  return verify == X509_V_OK ? std::string() : X509_verify_cert_error_string(verify);
}

}  // namespace trailkeep
