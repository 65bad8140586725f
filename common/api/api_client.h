// ApiClient: the `trailkeep` CLI's HTTPS client for the collector's API
// (docs/api.md). Boost.Beast over OpenSSL; the server certificate is verified
// against --cacert (or the system store) and its host name or IP address.
// Credentials: a bearer token and/or a client certificate.
//
// Blocking calls built on async operations with deadlines (beast::tcp_stream
// timeouts), so a dead connection is noticed. SIGINT/SIGTERM interrupt any
// call: it returns Status::Aborted and Interrupted() becomes true.
//
// Not thread-safe: one call at a time.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "common/tls/tls_profile.h"

namespace trailkeep {

struct ClientOptions {
  std::string server;  // https://HOST[:PORT], default port 8443
  std::string cacert;  // PEM CA file; "" = the system's trust store
  std::string cert, key;
  std::string token_file;
  TlsProfile tls_profile = TlsProfile::kNdcpp;  // common/tls/tls_profile.h
};

// ~/.config/trailkeep/client.toml ($XDG_CONFIG_HOME honoured), or `path`:
//   server = "https://collector:8443"
//   cacert = "ca.pem"        # relative paths are relative to the file's folder
//   cert = "me.pem"
//   key = "me.key"
//   token_file = "admin.token"
//   tls_profile = "ndcpp"    # or "modern"
// Fills the fields of *options that are still empty. A missing default file
// is not an error; a missing explicit file is.
Status LoadClientConfig(const std::string& path, ClientOptions* options);

class ApiClient {
 public:
  // Validates the URL, reads the token file and the certificates.
  static Result<std::unique_ptr<ApiClient>> Create(const ClientOptions& options);
  ~ApiClient();

  // GET `target` (path and query string). For a 200 answer, calls `on_line`
  // with each line of the body (no LF) as it arrives, until it returns false
  // or the body ends. `read_timeout_ms` bounds the silence between reads.
  // Errors: Aborted (interrupted), Unavailable (connection, TLS, 5xx:
  // retryable), InvalidArgument (4xx: the server's error message).
  Status Get(const std::string& target, const std::function<bool(std::string_view)>& on_line,
             int read_timeout_ms);
  // POST `target` with an empty body; the answer as for Get.
  Status Post(const std::string& target, const std::function<bool(std::string_view)>& on_line,
              int read_timeout_ms);

  bool Interrupted() const;
  // Waits, returning early when interrupted.
  void Sleep(std::chrono::milliseconds duration);

  struct Impl;

 private:
  explicit ApiClient(std::unique_ptr<Impl> impl);
  Status Exchange(bool post, const std::string& target,
                  const std::function<bool(std::string_view)>& on_line, int read_timeout_ms);
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes a query-string value.
std::string UrlEncode(std::string_view value);

}  // namespace trailkeep
