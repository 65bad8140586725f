// ChannelBridge: relays one forwarded channel of a reverse SSH tunnel to a
// TCP address outside the collector (a [[tunnel]]'s forward_to that names no
// [[listen.audit]] listener of ours). The far end learns nothing of the
// channel's identity: channels for the collector itself are served in
// process (ssh_channel_stream.h).
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

#include "server/tunnel/tunnel_channel.h"
#include "server/tunnel/tunnel_counters.h"

namespace trailkeep {

class ChannelBridge final : public TunnelChannel,
                            public std::enable_shared_from_this<ChannelBridge> {
 public:
  using Strand = boost::asio::strand<boost::asio::any_io_executor>;

  // Takes ownership of `channel` (freed by Pump once closed, or by the
  // session when Abandon is called). `wake` re-runs the tunnel's pump; it is
  // called on the strand after every socket operation completes.
  ChannelBridge(Strand strand, LIBSSH2_CHANNEL* channel, std::string node,
                std::shared_ptr<TunnelCounters> counters, std::function<void()> wake);
  ~ChannelBridge() override;
  ChannelBridge(const ChannelBridge&) = delete;
  ChannelBridge& operator=(const ChannelBridge&) = delete;

  void Start(const boost::asio::ip::tcp::endpoint& target);
  PumpResult Pump() override;
  // Closes the socket, without touching the channel.
  void Abandon() override;
  const std::string& last_error() const override { return error_; }

 private:
  void StartSocketRead();
  void StartSocketWrite();
  // Each returns false on a session-level libssh2 error.
  bool WriteToChannel();
  bool ReadFromChannel();
  bool Finished() const;
  void CloseSocket();
  void SetError(std::string what);

  Strand strand_;
  LIBSSH2_CHANNEL* channel_;  // owned until freed or abandoned
  const std::string node_;
  std::shared_ptr<TunnelCounters> counters_;
  std::function<void()> wake_;
  boost::asio::ip::tcp::socket socket_;
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
