// TcpByteStream: a ByteStream over an accepted TCP socket (byte_stream.h),
// and the ChannelIdentity a TCP connection has: its peer's address.
// Internal to server/net: names Asio.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include "server/net/byte_stream.h"

namespace trailkeep {

class TcpByteStream final : public ByteStream {
 public:
  // The socket's executor should be a strand: sessions run on it.
  explicit TcpByteStream(boost::asio::ip::tcp::socket socket);

  boost::asio::any_io_executor executor() override;
  void AsyncReadSome(boost::asio::mutable_buffer buffer, Handler handler) override;
  void AsyncWrite(boost::asio::const_buffer buffer, Handler handler) override;
  size_t ReadSomeNow(boost::asio::mutable_buffer buffer, boost::system::error_code& ec) override;
  size_t WriteSomeNow(boost::asio::const_buffer buffer, boost::system::error_code& ec) override;
  void Close() override;

 private:
  boost::asio::ip::tcp::socket socket_;
};

// {peer "ip:port" ("" when the peer is already gone), listener}.
ChannelIdentity TcpIdentity(const boost::asio::ip::tcp::socket& socket, std::string listener);

}  // namespace trailkeep
