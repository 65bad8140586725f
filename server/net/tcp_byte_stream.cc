#include "server/net/tcp_byte_stream.h"

#include <utility>

#include <boost/asio/write.hpp>

#include "common/base/endpoint.h"

namespace trailkeep {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

TcpByteStream::TcpByteStream(tcp::socket socket) : socket_(std::move(socket)) {
  // ReadSomeNow/WriteSomeNow must never block; asynchronous operations
  // behave the same in either mode.
  error_code ec;
  socket_.non_blocking(true, ec);
}

net::any_io_executor TcpByteStream::executor() { return socket_.get_executor(); }

void TcpByteStream::AsyncReadSome(net::mutable_buffer buffer, Handler handler) {
  socket_.async_read_some(buffer, std::move(handler));
}

void TcpByteStream::AsyncWrite(net::const_buffer buffer, Handler handler) {
  net::async_write(socket_, buffer, std::move(handler));
}

size_t TcpByteStream::ReadSomeNow(net::mutable_buffer buffer, error_code& ec) {
  return socket_.read_some(buffer, ec);
}

size_t TcpByteStream::WriteSomeNow(net::const_buffer buffer, error_code& ec) {
  return socket_.write_some(buffer, ec);
}

void TcpByteStream::Close() {
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

ChannelIdentity TcpIdentity(const tcp::socket& socket, std::string listener) {
  ChannelIdentity id;
  id.listener = std::move(listener);
  error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  if (!ec) id.address = FormatEndpoint(ep.address().to_string(), ep.address().is_v6(), ep.port());
  return id;
}

}  // namespace trailkeep
