// SshChannel: a forwarded channel of a reverse SSH tunnel served inside the
// process. The tunnel pumps it with its libssh2 session; the protocol session
// the channel is handed to reads and writes it through the ByteStream that
// OpenStream() returns (server/net/byte_stream.h), with the tunnel's node as
// the sender's identity. No socket and no loopback hop in between.
//
// Back-pressure: the channel is read only while the session has a read
// pending (the SSH window then fills and the node's sender waits). A write
// completes once libssh2 took its bytes. When the session closes the stream
// (or drops it), what it wrote is sent, then the channel is closed and freed.
// A channel error fails the session's pending operations (connection_reset);
// a tunnel teardown fails them with operation_aborted.
//
// Internal to server/tunnel/ (includes Asio and libssh2).
// Concurrency: every method and every handler runs on the tunnel's strand.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/strand.hpp>
#include <libssh2.h>

#include "server/net/byte_stream.h"
#include "server/tunnel/tunnel_channel.h"
#include "server/tunnel/tunnel_counters.h"

namespace trailkeep {

class SshChannel final : public TunnelChannel, public std::enable_shared_from_this<SshChannel> {
 public:
  using Strand = boost::asio::strand<boost::asio::any_io_executor>;

  // Takes ownership of `channel` (freed by Pump once closed, or by the SSH
  // session when Abandon is called). `wake` asks the tunnel for a pump soon;
  // it must not pump inside the call.
  SshChannel(Strand strand, LIBSSH2_CHANNEL* channel, std::string node,
             std::shared_ptr<TunnelCounters> counters, std::function<void()> wake);
  ~SshChannel() override;
  SshChannel(const SshChannel&) = delete;
  SshChannel& operator=(const SshChannel&) = delete;

  // The session's end of the channel; call once.
  std::unique_ptr<ByteStream> OpenStream();

  PumpResult Pump() override;
  void Abandon() override;
  const std::string& last_error() const override { return error_; }

 private:
  friend class SshChannelStream;
  void StartRead(boost::asio::mutable_buffer buffer, ByteStream::Handler handler);
  void StartWrite(boost::asio::const_buffer buffer, ByteStream::Handler handler);
  size_t ReadNow(boost::asio::mutable_buffer buffer, boost::system::error_code& ec);
  size_t WriteNow(boost::asio::const_buffer buffer, boost::system::error_code& ec);
  void CloseFromSession();

  // Each returns false on an error of the whole SSH session.
  bool Flush();
  bool Fill();
  // The channel cannot carry more: pending operations fail with `ec`.
  void Fail(const boost::system::error_code& ec);
  void Complete(ByteStream::Handler* handler, const boost::system::error_code& ec, size_t n);
  boost::system::error_code Unusable() const;
  void SetError(std::string what);

  Strand strand_;
  LIBSSH2_CHANNEL* channel_;  // owned until freed or abandoned
  const std::string node_;
  std::shared_ptr<TunnelCounters> counters_;
  std::function<void()> wake_;
  // node -> session
  boost::asio::mutable_buffer read_buffer_;
  ByteStream::Handler read_handler_;
  bool node_eof_ = false;
  // session -> node: bytes not yet taken by libssh2, from out_off_
  std::string out_;
  size_t out_off_ = 0;
  ByteStream::Handler write_handler_;
  size_t write_size_ = 0;
  size_t write_owed_ = 0;  // bytes of out_ to go before write_handler_ completes
  bool failed_ = false;
  bool session_closed_ = false;
  bool abandoned_ = false;
  bool freeing_ = false;
  std::string error_;
};

}  // namespace trailkeep
