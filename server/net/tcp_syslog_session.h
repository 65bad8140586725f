// TcpSyslogSession: one plaintext TCP syslog connection of a [[listen.tcp]]
// listener (RFC 6587: octet-counted or LF-terminated frames, decided per
// frame by common/wire/octet_framer.h). Frames are admitted by the sender's
// rate limit and offered to the sink; while either says no, the session
// holds its frames and stops reading (back-pressure through TCP): nothing
// read is dropped. A framing error closes the connection after the frames
// before it were handed over; a half-sent frame at EOF is reported. Idle
// connections close after idle_timeout_ms. Internal to server/net.
//
// Concurrency: runs on the stream's strand.
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "common/wire/octet_framer.h"
#include "server/net/byte_stream.h"
#include "server/net/plain_syslog_context.h"

namespace trailkeep {

class TcpSyslogSession : public std::enable_shared_from_this<TcpSyslogSession> {
 public:
  // Counts itself in ctx->counters.tcp_connections while it lives.
  TcpSyslogSession(std::unique_ptr<ByteStream> stream, const ChannelIdentity& identity,
                   std::shared_ptr<PlainSyslogContext> ctx);
  ~TcpSyslogSession();
  TcpSyslogSession(const TcpSyslogSession&) = delete;
  TcpSyslogSession& operator=(const TcpSyslogSession&) = delete;

  void Start();

 private:
  void ReadSome();
  void OnRead(boost::system::error_code ec, size_t n);
  void Deliver();
  void RetryAfter(std::chrono::microseconds delay);

  std::unique_ptr<ByteStream> stream_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<PlainSyslogContext> ctx_;
  std::shared_ptr<const v1::Peer> peer_;
  std::string sender_ip_;
  OctetFramer framer_;
  std::array<char, 16 * 1024> buf_;
  std::deque<RawFrame> waiting_;  // read, not yet admitted by the rate limit
  IngestBatch ready_;             // admitted, not yet taken by the sink (kSyslog)
  bool timed_out_ = false;
  bool closing_ = false;
};

}  // namespace trailkeep
