#include <climits>
#include <filesystem>

#include <unistd.h>

#include "server/app/config.h"
#include "server/app/dev_pki.h"

namespace trailkeep {

ServerConfig MakeDevConfig(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const std::string root = fs::absolute(dir).lexically_normal().string();
  DevPkiPaths pki = EnsureDevPki(root + "/pki");
  ServerConfig c;
  c.source = "--dev " + root;
  c.dev_mode = true;
  c.data_dir = root + "/data";
  char host[HOST_NAME_MAX + 1] = {};
  c.collector_name = gethostname(host, sizeof host - 1) == 0 ? host : "localhost";
  c.syslog.addresses = {"127.0.0.1:6514"};
  c.syslog.tls.cert_file = pki.server_cert;
  c.syslog.tls.key_file = pki.server_key;
  c.syslog.tls.ca_file = pki.ca_cert;
  // loggen cannot present a certificate: accept it, and mark its events.
  c.syslog.tls.client_auth = ClientAuth::kOptional;
  return c;
}

}  // namespace trailkeep
