#include "server/net/tls_byte_stream.h"

#include <utility>

#include <boost/asio/write.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/x509/subject_name.h"

namespace trailkeep {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;

TlsByteStream::TlsByteStream(std::unique_ptr<ByteStream> inner, std::shared_ptr<ssl::context> ctx)
    : inner_(std::move(inner)), ctx_(std::move(ctx)), tls_(ByteStreamRef(inner_.get()), *ctx_) {
  // The stream owns the callback: `this` outlives it.
  tls_.set_verify_callback([this](bool preverified, ssl::verify_context& vc) {
    if (!preverified && verify_error_.empty()) {
      X509_STORE_CTX* sc = vc.native_handle();
      verify_error_ = X509_verify_cert_error_string(X509_STORE_CTX_get_error(sc));
      if (X509* cert = X509_STORE_CTX_get_current_cert(sc)) {
        verify_error_ += " (certificate " + SubjectRfc2253(X509_get_subject_name(cert)) + ")";
      }
    }
    return preverified;
  });
}

void TlsByteStream::AsyncHandshake(std::function<void(const error_code&)> handler) {
  tls_.async_handshake(ssl::stream_base::server, std::move(handler));
}

void TlsByteStream::AsyncShutdown(std::function<void(const error_code&)> handler) {
  tls_.async_shutdown(std::move(handler));
}

net::any_io_executor TlsByteStream::executor() { return inner_->executor(); }

void TlsByteStream::AsyncReadSome(net::mutable_buffer buffer, Handler handler) {
  tls_.async_read_some(buffer, std::move(handler));
}

void TlsByteStream::AsyncWrite(net::const_buffer buffer, Handler handler) {
  net::async_write(tls_, buffer, std::move(handler));
}

size_t TlsByteStream::ReadSomeNow(net::mutable_buffer buffer, error_code& ec) {
  return tls_.read_some(buffer, ec);
}

size_t TlsByteStream::WriteSomeNow(net::const_buffer buffer, error_code& ec) {
  return tls_.write_some(buffer, ec);
}

void TlsByteStream::Close() { inner_->Close(); }

}  // namespace trailkeep
