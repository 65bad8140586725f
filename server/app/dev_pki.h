// A throwaway PKI for development mode: an EC P-256 CA, a server certificate
// for localhost/127.0.0.1/::1, and a client certificate ("dev-client"), all
// under DIR/pki. Created on first run, reused afterwards. Keys are mode 0600.
// Never for production: the CA key sits next to the certificates.
#pragma once

#include <string>

namespace trailkeep {

struct DevPkiPaths {
  std::string ca_cert, ca_key, server_cert, server_key, client_cert, client_key;
};

// Throws std::runtime_error when a file cannot be written.
DevPkiPaths EnsureDevPki(const std::string& pki_dir);

// Certificate issuing shared by development mode and `trailkeepd enroll`.
struct LeafCertSpec {
  std::string common_name;
  std::string organization;        // "" = no O in the subject
  std::string subject_alt_names;   // OpenSSL syntax, "DNS:a,IP:127.0.0.1"; "" = none
  std::string extended_key_usage;  // "clientAuth", "serverAuth"; "" = none
  int days = 825;
};
struct PemKeyAndCert {
  std::string key_pem;  // PKCS#8 PEM, unencrypted
  std::string cert_pem;
};

// Generates an EC P-256 key and a certificate for it signed by the CA whose
// PEM certificate and private key are given. Throws std::runtime_error with
// a one-line reason (unreadable CA, CA key not matching the certificate, a
// certificate that is not a CA, signing failure).
PemKeyAndCert IssueLeafCertificate(const std::string& ca_cert_pem, const std::string& ca_key_pem,
                                   const LeafCertSpec& spec);

// True when the first certificate in `cert_pem` carries a valid signature
// by the key of the first certificate in `ca_cert_pem`.
bool CertificateSignedBy(const std::string& cert_pem, const std::string& ca_cert_pem);

}  // namespace trailkeep
