// ServerTls: the TLS material one listener applies, replaceable while it
// runs (SIGHUP). New handshakes take context(); a handshake in flight keeps
// the context it started with (each stream holds its own reference), so a
// swap never disturbs it. Each connection with a verified client certificate
// is tracked with a copy of its chain; Replace re-verifies every tracked
// chain against the new context's trust anchors and CRLs and closes the
// connections that no longer pass, returning who they were and why.
//
// Concurrency: every method is thread-safe. The close callbacks run inside
// Replace, so they must only post to the connection's strand.
// Lifetime: held by shared_ptr (Create); a tracking handle may outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

typedef struct ssl_st SSL;

namespace boost::asio::ssl {
class context;
}

namespace trailkeep {

// A live peer closed because the reloaded CA or CRL no longer accepts it.
struct WithdrawnPeer {
  std::string address;   // "ip:port"
  std::string listener;  // which listener it was on ("syslog", "export", ...)
  std::string cert_subject;
  std::string cert_sha256;
  std::string reason;  // the verifier's ("certificate revoked", ...)
};

class ServerTls : public std::enable_shared_from_this<ServerTls> {
 public:
  // `listener` names it in WithdrawnPeer ("syslog", "export").
  static std::shared_ptr<ServerTls> Create(std::string listener,
                                           std::shared_ptr<boost::asio::ssl::context> ctx);
  ~ServerTls();
  ServerTls(const ServerTls&) = delete;
  ServerTls& operator=(const ServerTls&) = delete;

  // For a new handshake.
  std::shared_ptr<boost::asio::ssl::context> context() const;

  // After a successful handshake of `ssl` that verified a client
  // certificate: tracks it until the returned handle is destroyed (keep it
  // with the connection). `close` ends the connection; null handle when
  // `ssl` has no peer certificate (nothing to re-check). A handshake made
  // with a context replaced meanwhile is re-checked here, and `close` called
  // at once when the current context refuses it.
  std::shared_ptr<void> Track(SSL* ssl, const std::string& address, std::function<void()> close);

  // Makes `ctx` the context of new handshakes, then re-checks every tracked
  // peer against it; the ones refused are closed and untracked.
  std::vector<WithdrawnPeer> Replace(std::shared_ptr<boost::asio::ssl::context> ctx);

  size_t tracked() const;

 private:
  struct Entry;
  ServerTls(std::string listener, std::shared_ptr<boost::asio::ssl::context> ctx);
  void Untrack(uint64_t id);

  const std::string listener_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;    // GUARDED_BY(mu_)
  std::map<uint64_t, std::unique_ptr<Entry>> peers_;  // GUARDED_BY(mu_)
  uint64_t next_id_ = 0;                              // GUARDED_BY(mu_)
};

}  // namespace trailkeep
