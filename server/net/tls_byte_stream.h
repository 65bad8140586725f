// TlsByteStream: the server side of a TLS session over another ByteStream
// (a TCP socket, or an SSH channel after an agent's port-60 hello). After
// AsyncHandshake succeeds, native_handle() holds the verified certificate and
// the ALPN choice the channel's identity is taken from (tls_context.h).
// Internal to server/net: names Asio and OpenSSL.
//
// Concurrency: every method on executor() (the inner stream's strand).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/async_result.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "server/net/byte_stream.h"

namespace trailkeep {

// An Asio AsyncReadStream/AsyncWriteStream (and its synchronous forms) over a
// ByteStream it does not own: what boost::asio::ssl::stream runs on.
class ByteStreamRef {
 public:
  using executor_type = boost::asio::any_io_executor;
  using lowest_layer_type = ByteStreamRef;

  explicit ByteStreamRef(ByteStream* stream) : stream_(stream) {}
  executor_type get_executor() { return stream_->executor(); }
  lowest_layer_type& lowest_layer() { return *this; }

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, boost::asio::mutable_buffer b) {
          stream_->AsyncReadSome(b, Share(std::move(handler)));
        },
        token, First<boost::asio::mutable_buffer>(buffers));
  }
  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, boost::asio::const_buffer b) {
          stream_->AsyncWrite(b, Share(std::move(handler)));
        },
        token, First<boost::asio::const_buffer>(buffers));
  }
  template <typename Buffers>
  size_t read_some(const Buffers& buffers, boost::system::error_code& ec) {
    return stream_->ReadSomeNow(First<boost::asio::mutable_buffer>(buffers), ec);
  }
  template <typename Buffers>
  size_t write_some(const Buffers& buffers, boost::system::error_code& ec) {
    return stream_->WriteSomeNow(First<boost::asio::const_buffer>(buffers), ec);
  }

 private:
  // The first non-empty buffer: "some" may stop there.
  template <typename Buffer, typename Buffers>
  static Buffer First(const Buffers& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      Buffer b(*it);
      if (b.size() > 0) return b;
    }
    return Buffer();
  }
  // Asio's handlers are move-only; ByteStream::Handler is a std::function.
  template <typename H>
  static ByteStream::Handler Share(H handler) {
    auto h = std::make_shared<H>(std::move(handler));
    return [h](const boost::system::error_code& ec, size_t n) { (*h)(ec, n); };
  }

  ByteStream* stream_;
};

class TlsByteStream final : public ByteStream {
 public:
  TlsByteStream(std::unique_ptr<ByteStream> inner, std::shared_ptr<boost::asio::ssl::context> ctx);

  // Keeps the first certificate verification failure (verify_error()).
  void AsyncHandshake(std::function<void(const boost::system::error_code&)> handler);
  // A close_notify exchange; the caller bounds it in time and closes.
  void AsyncShutdown(std::function<void(const boost::system::error_code&)> handler);
  SSL* native_handle() { return tls_.native_handle(); }
  // The verifier's reason for the first certificate it refused, "" if none.
  const std::string& verify_error() const { return verify_error_; }

  boost::asio::any_io_executor executor() override;
  void AsyncReadSome(boost::asio::mutable_buffer buffer, Handler handler) override;
  void AsyncWrite(boost::asio::const_buffer buffer, Handler handler) override;
  size_t ReadSomeNow(boost::asio::mutable_buffer buffer, boost::system::error_code& ec) override;
  size_t WriteSomeNow(boost::asio::const_buffer buffer, boost::system::error_code& ec) override;
  void Close() override;

 private:
  std::unique_ptr<ByteStream> inner_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  boost::asio::ssl::stream<ByteStreamRef> tls_;
  std::string verify_error_;
};

}  // namespace trailkeep
