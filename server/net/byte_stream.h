// ByteStream: one connection's bytes inside the process, whatever carries
// them (a TCP socket, a TLS session over another stream, a reverse SSH
// tunnel's channel), and ChannelIdentity: what that transport vouches for
// about the sender. Protocol sessions read and write a ByteStream and take
// the sender's identity from the ChannelIdentity they are handed with it,
// never from a side table or from the bytes.
//
// Semantics follow Asio's: AsyncReadSome reads at least one byte (an empty
// buffer completes at once with 0), or fails (eof: the peer closed);
// AsyncWrite writes the whole buffer; one read and one write may be pending
// at a time; handlers never run inside the call that started them and run on
// executor(). Close() ends the connection: pending handlers complete with
// operation_aborted. Internal to server/net and server/tunnel: names Asio.
//
// Concurrency: every method on executor() (a strand).
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

namespace trailkeep {

struct ChannelIdentity {
  std::string address;   // "ip:port" of the sender as the transport sees it
  std::string listener;  // the local address (listener) the channel was delivered to
  std::string tunnel;    // the [[tunnel]] node it came through (SSH), "" when none
};

class ByteStream {
 public:
  using Handler = std::function<void(const boost::system::error_code&, size_t)>;

  virtual ~ByteStream() = default;
  virtual boost::asio::any_io_executor executor() = 0;
  virtual void AsyncReadSome(boost::asio::mutable_buffer buffer, Handler handler) = 0;
  virtual void AsyncWrite(boost::asio::const_buffer buffer, Handler handler) = 0;
  // Without waiting: bytes already received, or would_block.
  virtual size_t ReadSomeNow(boost::asio::mutable_buffer buffer, boost::system::error_code& ec) = 0;
  // Without waiting: what the stream takes now (may be less, or would_block).
  virtual size_t WriteSomeNow(boost::asio::const_buffer buffer, boost::system::error_code& ec) = 0;
  virtual void Close() = 0;
};

}  // namespace trailkeep
