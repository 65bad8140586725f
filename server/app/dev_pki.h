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

}  // namespace trailkeep
