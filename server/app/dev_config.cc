#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/app/config.h"
#include "server/app/dev_pki.h"
#include "server/sinks/export_auth.h"

namespace trailkeep {
namespace {

void WriteSecretFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot create " + tmp);
  chmod(tmp.c_str(), 0600);
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) throw std::runtime_error("cannot write " + tmp);
  std::filesystem::rename(tmp, path);
}

// DIR/admin.token (the plain token) and DIR/export-tokens (its SHA-256 with
// every scope), made on first run. Returns the token file's path.
std::string EnsureDevToken(const std::string& root) {
  namespace fs = std::filesystem;
  const std::string token_path = root + "/admin.token";
  const std::string file_path = root + "/export-tokens";
  if (fs::exists(token_path) && fs::exists(file_path)) return file_path;
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no random bytes for a token");
  static const char kHex[] = "0123456789abcdef";
  std::string token = "tk_";
  for (unsigned char b : bytes) {
    token.push_back(kHex[b >> 4]);
    token.push_back(kHex[b & 15]);
  }
  WriteSecretFile(file_path,
                  "# trailkeepd API tokens (development mode): name sha256-hex scopes hosts\n" +
                      TokenFileLine("admin", token, kAllScopes, {}) + "\n");
  WriteSecretFile(token_path, token + "\n");
  return file_path;
}

}  // namespace

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
  c.export_api.addresses = {"127.0.0.1:8443"};
  c.audit_remote.addresses = {"127.0.0.1:6060"};  // port 60 itself needs root
  c.export_api.token_file = EnsureDevToken(root);
  c.export_api.clients = {ClientRule{"dev-client", kAllScopes, {}}};
  c.keys_dir = root + "/keys";
  fs::create_directories(c.keys_dir);
  fs::permissions(c.keys_dir, fs::perms::owner_all, fs::perm_options::replace);
  c.enroll_ca_cert = pki.ca_cert;
  c.enroll_ca_key = pki.ca_key;
  // No file to set [store] retention in: keep everything (docs/configuration.md).
  c.retention.default_us = 0;
  return c;
}

}  // namespace trailkeep
