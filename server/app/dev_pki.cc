#include "server/app/dev_pki.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include <openssl/bio.h>
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

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct IssueSpec {
  std::string cn;
  std::string org;
  bool ca = false;
  std::string san;  // "" = none
  std::string eku;  // "" = none
  int days = 825;
};

// Issues a certificate for `key`; self-signed when issuer is null.
CertPtr Issue(const IssueSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * spec.days);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!spec.org.empty()) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.org.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  X509* iss = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
  AddExt(cert.get(), iss, NID_basic_constraints,
         spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  AddExt(cert.get(), iss, NID_key_usage,
         spec.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyAgreement");
  AddExt(cert.get(), iss, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) {
    // A CA made elsewhere may lack a subject key identifier.
    AddExt(cert.get(), iss, NID_authority_key_identifier,
           X509_get0_subject_key_id(issuer) != nullptr ? "keyid:always" : "issuer:always");
  }
  if (!spec.san.empty()) AddExt(cert.get(), iss, NID_subject_alt_name, spec.san.c_str());
  if (!spec.eku.empty()) AddExt(cert.get(), iss, NID_ext_key_usage, spec.eku.c_str());
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    throw std::runtime_error("cannot sign the certificate for " + spec.cn);
  }
  return cert;
}

CertPtr CertFromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return CertPtr(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

KeyPtr KeyFromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return KeyPtr(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
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
  CertPtr ca = Issue({"trailkeep dev CA", "trailkeep dev", true, "", "", 3650}, ca_key.get(),
                     nullptr, nullptr);
  KeyPtr server_key = NewKey();
  CertPtr server =
      Issue({"localhost", "trailkeep dev", false,
             "DNS:localhost,DNS:collector.test,IP:127.0.0.1,IP:::1", "serverAuth", 825},
            server_key.get(), ca.get(), ca_key.get());
  KeyPtr client_key = NewKey();
  CertPtr client =
      Issue({"dev-client", "trailkeep dev", false, "DNS:dev-client", "clientAuth", 825},
            client_key.get(), ca.get(), ca_key.get());
  WriteKey(p.ca_key, ca_key.get());
  WriteCert(p.ca_cert, ca.get());
  WriteKey(p.server_key, server_key.get());
  WriteCert(p.server_cert, server.get());
  WriteKey(p.client_key, client_key.get());
  WriteCert(p.client_cert, client.get());
  return p;
}

PemKeyAndCert IssueLeafCertificate(const std::string& ca_cert_pem, const std::string& ca_key_pem,
                                   const LeafCertSpec& spec) {
  CertPtr ca = CertFromPem(ca_cert_pem);
  if (!ca) throw std::runtime_error("the CA certificate is not a PEM certificate");
  KeyPtr ca_key = KeyFromPem(ca_key_pem);
  if (!ca_key) throw std::runtime_error("the CA key is not an unencrypted PEM private key");
  if (X509_check_private_key(ca.get(), ca_key.get()) != 1) {
    throw std::runtime_error("the CA key does not belong to the CA certificate");
  }
  if (X509_check_ca(ca.get()) == 0) {
    throw std::runtime_error("the CA certificate is not a CA (no basicConstraints CA:TRUE)");
  }
  if (spec.days <= 0) throw std::runtime_error("the validity must be at least one day");
  KeyPtr key = NewKey();
  CertPtr cert = Issue({spec.common_name, spec.organization, false, spec.subject_alt_names,
                        spec.extended_key_usage, spec.days},
                       key.get(), ca.get(), ca_key.get());
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  if (!key_bio || !cert_bio ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1 ||
      PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) {
    throw std::runtime_error("cannot encode the new key and certificate as PEM");
  }
  return {BioText(key_bio.get()), BioText(cert_bio.get())};
}

bool CertificateSignedBy(const std::string& cert_pem, const std::string& ca_cert_pem) {
  CertPtr cert = CertFromPem(cert_pem);
  CertPtr ca = CertFromPem(ca_cert_pem);
  if (!cert || !ca) return false;
  EVP_PKEY* ca_pub = X509_get0_pubkey(ca.get());
  return ca_pub != nullptr && X509_verify(cert.get(), ca_pub) == 1;
}

}  // namespace trailkeep
