// ChannelBridge: serves one forwarded channel of a reverse SSH tunnel by
// bridging it to a loopback TCP connection to the collector's own port-60
// listener. The socket is bound to 127.0.0.1:0 (::1 for an IPv6 target) and
// its port registered in the AuditChannelRegistry with the tunnel's node
// before connecting, so the port-60 session takes the sender's identity from
// the channel; the port is unregistered when the bridge closes.
//
// Bytes move both ways until either side closes; what one side sent before
// closing is delivered to the other first. Back-pressure: the channel is not
// read while bytes are still being written to the socket (the SSH window
// then fills and the node's sender waits), and the socket is not read while
// bytes are still owed to the channel.
//
// Internal to server/tunnel/ (includes Asio and libssh2).
// Concurrency: every method and every handler runs on the tunnel's strand.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <libssh2.h>

#include "server/net/audit_channel_registry.h"
#include "server/tunnel/tunnel_counters.h"

namespace trailkeep {

class ChannelBridge : public std::enable_shared_from_this<ChannelBridge> {
 public:
  using Strand = boost::asio::strand<boost::asio::any_io_executor>;
  enum class PumpResult { kOpen, kDone, kSessionError };

  // Takes ownership of `channel` (freed by Pump once closed, or by the
  // session when Abandon is called). `wake` re-runs the tunnel's pump; it is
  // called on the strand after every socket operation completes.
  // `registry` must outlive the bridge.
  ChannelBridge(Strand strand, LIBSSH2_CHANNEL* channel, AuditChannelRegistry* registry,
                AuditChannel identity, std::shared_ptr<TunnelCounters> counters,
                std::function<void()> wake);
  ~ChannelBridge();
  ChannelBridge(const ChannelBridge&) = delete;
  ChannelBridge& operator=(const ChannelBridge&) = delete;

  // Binds, registers and connects to `target`.
  void Start(const boost::asio::ip::tcp::endpoint& target);
  // Moves what it can without blocking. kDone: the channel is freed and the
  // bridge can be dropped. kSessionError: the SSH transport failed.
  PumpResult Pump();
  // The session is going away (it frees the channel itself): close the
  // socket and unregister, without touching the channel.
  void Abandon();

  uint16_t local_port() const { return local_port_; }
  const std::string& last_error() const { return error_; }

 private:
  void StartSocketRead();
  void StartSocketWrite();
  // Each returns false on a session-level libssh2 error.
  bool WriteToChannel();
  bool ReadFromChannel();
  bool Finished() const;
  void CloseSocket();
  PumpResult TryFree();
  void SetError(std::string what);

  Strand strand_;
  LIBSSH2_CHANNEL* channel_;  // owned until freed or abandoned
  AuditChannelRegistry* registry_;
  AuditChannel identity_;
  std::shared_ptr<TunnelCounters> counters_;
  std::function<void()> wake_;
  boost::asio::ip::tcp::socket socket_;
  uint16_t local_port_ = 0;
  bool registered_ = false;
  bool connected_ = false;
  bool socket_done_ = false;  // socket failed, or closed by us
  bool socket_eof_ = false;   // the listener closed its side
  bool channel_eof_ = false;  // the node closed its side
  bool channel_failed_ = false;
  bool freeing_ = false;
  // channel -> socket
  std::string to_socket_;
  bool writing_ = false;
  // socket -> channel
  std::array<char, 16384> from_socket_{};
  size_t from_socket_len_ = 0;
  size_t from_socket_off_ = 0;
  bool reading_ = false;
  std::string error_;
};

}  // namespace trailkeep
