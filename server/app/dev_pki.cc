#include "server/app/dev_pki.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

namespace trailkeep {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;

KeyPtr NewKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) throw std::runtime_error("cannot generate an EC P-256 key");
  return key;
}

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) throw std::runtime_error(std::string("bad certificate extension ") + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Issues a certificate for `key`; self-signed when issuer is null.
CertPtr Issue(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca,
              const char* san, const char* eku) {
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * (ca ? 3650 : 825));
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("trailkeep dev"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* iss = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
  AddExt(cert.get(), iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  AddExt(cert.get(), iss, NID_key_usage,
         ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyAgreement");
  AddExt(cert.get(), iss, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) AddExt(cert.get(), iss, NID_authority_key_identifier, "keyid:always");
  if (san != nullptr) AddExt(cert.get(), iss, NID_subject_alt_name, san);
  if (eku != nullptr) AddExt(cert.get(), iss, NID_ext_key_usage, eku);
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    throw std::runtime_error("cannot sign the certificate for " + cn);
  }
  return cert;
}

std::unique_ptr<FILE, FileClose> OpenForWrite(const std::string& path, mode_t mode) {
  std::unique_ptr<FILE, FileClose> f(std::fopen(path.c_str(), "wx"));
  if (!f) throw std::runtime_error("cannot create " + path);
  chmod(path.c_str(), mode);
  return f;
}

void WriteKey(const std::string& path, EVP_PKEY* key) {
  auto f = OpenForWrite(path, 0600);
  if (PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw std::runtime_error("cannot write " + path);
  }
}

void WriteCert(const std::string& path, X509* cert) {
  auto f = OpenForWrite(path, 0644);
  if (PEM_write_X509(f.get(), cert) != 1) throw std::runtime_error("cannot write " + path);
}

}  // namespace

DevPkiPaths EnsureDevPki(const std::string& dir) {
  namespace fs = std::filesystem;
  DevPkiPaths p{dir + "/ca.pem",     dir + "/ca.key",     dir + "/server.pem",
                dir + "/server.key", dir + "/client.pem", dir + "/client.key"};
  if (fs::exists(p.ca_cert) && fs::exists(p.server_key) && fs::exists(p.client_key)) return p;
  // A half-made PKI (interrupted first run) is replaced as a whole.
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all);

  KeyPtr ca_key = NewKey();
  CertPtr ca = Issue("trailkeep dev CA", ca_key.get(), nullptr, nullptr, true, nullptr, nullptr);
  KeyPtr server_key = NewKey();
  CertPtr server = Issue("localhost", server_key.get(), ca.get(), ca_key.get(), false,
                         "DNS:localhost,DNS:collector.test,IP:127.0.0.1,IP:::1", "serverAuth");
  KeyPtr client_key = NewKey();
  CertPtr client = Issue("dev-client", client_key.get(), ca.get(), ca_key.get(), false,
                         "DNS:dev-client", "clientAuth");
  WriteKey(p.ca_key, ca_key.get());
  WriteCert(p.ca_cert, ca.get());
  WriteKey(p.server_key, server_key.get());
  WriteCert(p.server_cert, server.get());
  WriteKey(p.client_key, client_key.get());
  WriteCert(p.client_cert, client.get());
  return p;
}

}  // namespace trailkeep
