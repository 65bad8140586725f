#include "server/net/tls_syslog_session.h"

#include <array>
#include <chrono>

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/base/endpoint.h"
#include "common/base/time_format.h"
#include "common/wire/octet_framer.h"
#include "server/net/ingest.h"
#include "server/net/tls_context.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using boost::system::error_code;

constexpr size_t kReadBufferBytes = 16 * 1024;
constexpr int kMaxReadsPerWakeup = 256;
constexpr size_t kDrainBytes = 256 * 1024;
constexpr auto kRetryDelay = std::chrono::milliseconds(2);
constexpr auto kShutdownTimeout = std::chrono::seconds(2);

std::string Endpoint(const tcp::endpoint& ep) {
  return FormatEndpoint(ep.address().to_string(), ep.address().is_v6(), ep.port());
}

// RFC 2253 form, as stored in Peer::cert_subject.
std::string SubjectOf(X509* cert) {
  std::string out;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<size_t>(len));
    BIO_free(bio);
  }
  return out;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ssl::context> ctx,
          std::shared_ptr<const TlsSyslogOptions> options, IngestSink* sink,
          std::shared_ptr<TlsSyslogCounters> counters, std::string listener)
      : ctx_(std::move(ctx)),
        stream_(std::move(socket), *ctx_),
        timer_(stream_.get_executor()),
        options_(std::move(options)),
        sink_(sink),
        counters_(std::move(counters)),
        framer_(options_->max_frame_bytes) {
    auto peer = std::make_shared<v1::Peer>();
    error_code ec;
    auto ep = stream_.lowest_layer().remote_endpoint(ec);
    if (!ec) peer->set_address(Endpoint(ep));
    peer->set_listener(std::move(listener));
    peer_ = std::move(peer);
    ++counters_->connections;
    ++counters_->handshaking;
    handshaking_ = true;
  }

  ~Session() {
    if (handshaking_) --counters_->handshaking;
    --counters_->connections;
  }

  void Start() {
    // The stream owns the callback and the session owns the stream: capture
    // `this`, not shared_from_this(), or the session would keep itself alive.
    stream_.set_verify_callback(
        [this](bool ok, ssl::verify_context& vc) { return Verify(ok, vc); });
    Arm(std::chrono::milliseconds(options_->handshake_timeout_ms), "TLS handshake timed out");
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](error_code ec) { self->OnHandshake(ec); });
  }

 private:
  // Keeps the first verification failure, which names the real reason.
  bool Verify(bool preverified, ssl::verify_context& vc) {
    if (!preverified && verify_error_.empty()) {
      X509_STORE_CTX* sc = vc.native_handle();
      const int err = X509_STORE_CTX_get_error(sc);
      verify_error_ = X509_verify_cert_error_string(err);
      if (X509* cert = X509_STORE_CTX_get_current_cert(sc)) {
        verify_error_ += " (certificate " + SubjectOf(cert) + ")";
      }
    }
    return preverified;
  }

  void Arm(std::chrono::milliseconds after, const char* why) {
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this(), why](error_code ec) {
      if (ec == net::error::operation_aborted) return;
      self->timeout_reason_ = why;
      error_code ignored;
      self->stream_.lowest_layer().close(ignored);
    });
  }

  void OnHandshake(error_code ec) {
    handshaking_ = false;
    --counters_->handshaking;
    if (ec) {
      std::string reason = !timeout_reason_.empty() ? timeout_reason_
                           : !verify_error_.empty() ? "certificate refused: " + verify_error_
                                                    : ec.message();
      ++counters_->refused;
      sink_->ReportConnectionEvent(ConnectionEventKind::kTlsHandshakeFailed, *peer_, reason);
      Close();
      return;
    }
    auto peer = std::make_shared<v1::Peer>(*peer_);
    FillPeerFromTls(stream_.native_handle(), peer.get());
    peer_ = std::move(peer);
    std::string why;
    if (!PeerPermitted(options_->tls, *peer_, &why)) {
      ++counters_->refused;
      sink_->ReportConnectionEvent(ConnectionEventKind::kPeerNotPermitted, *peer_, why);
      Shutdown();
      return;
    }
    ++counters_->accepted;
    // Reads continue synchronously while data is ready (DrainReady), so the
    // socket must never block.
    error_code ignored;
    stream_.next_layer().non_blocking(true, ignored);
    ReadSome();
  }

  void ReadSome() {
    Arm(std::chrono::milliseconds(options_->idle_timeout_ms), "idle timeout");
    stream_.async_read_some(
        net::buffer(buf_),
        [self = shared_from_this()](error_code ec, size_t n) { self->OnRead(ec, n); });
  }

  // OpenSSL hands out one TLS record per read, and senders such as loggen
  // put each message in its own record: keep reading what is already there
  // so one Offer() carries many frames instead of one.
  void DrainReady(error_code* ec) {
    for (int i = 0; i < kMaxReadsPerWakeup && framer_.Pending().size() < kDrainBytes; ++i) {
      error_code rec;
      const size_t n = stream_.read_some(net::buffer(buf_), rec);
      if (n > 0) {
        counters_->bytes += n;
        framer_.Feed(std::string_view(buf_.data(), n));
      }
      if (rec == net::error::would_block || rec == net::error::try_again) return;
      if (rec) {
        *ec = rec;
        return;
      }
    }
  }

  void OnRead(error_code ec, size_t n) {
    if (n > 0) {
      counters_->bytes += n;
      framer_.Feed(std::string_view(buf_.data(), n));
      if (!ec) DrainReady(&ec);
      const int64_t now = NowMicros();
      std::string_view frame;
      OctetFramer::Kind kind;
      OctetFramer::Result r;
      while ((r = framer_.Next(&frame, &kind)) == OctetFramer::Result::kFrame) {
        pending_.push_back(RawFrame{std::string(frame), now, peer_});
      }
      counters_->frames += pending_.size();
      if (r == OctetFramer::Result::kError) {
        ++counters_->framing_errors;
        sink_->ReportConnectionEvent(ConnectionEventKind::kFramingError, *peer_,
                                     framer_.error() + "; connection closed");
        closing_ = true;
      }
    }
    if (ec) {
      if (!framer_.Pending().empty() && !closing_) {
        sink_->ReportConnectionEvent(
            ConnectionEventKind::kTruncatedFrame, *peer_,
            "connection ended (" + (timeout_reason_.empty() ? ec.message() : timeout_reason_) +
                ") inside a frame; " + std::to_string(framer_.Pending().size()) +
                " bytes of an incomplete frame discarded");
      }
      closing_ = true;
      eof_ = true;
    }
    Deliver();
  }

  // Hands pending frames to the sink; while it is full, waits and retries
  // without reading (back-pressure reaches the sender through TCP).
  void Deliver() {
    if (!pending_.empty() && !sink_->Offer(&pending_)) {
      timer_.expires_after(kRetryDelay);
      timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (ec != net::error::operation_aborted) self->Deliver();
      });
      return;
    }
    if (eof_) {
      Shutdown();
    } else if (closing_) {
      Shutdown();
    } else {
      ReadSome();
    }
  }

  // Attempts a close_notify exchange, bounded in time, then closes.
  void Shutdown() {
    Arm(kShutdownTimeout, "shutdown");
    stream_.async_shutdown([self = shared_from_this()](error_code) { self->Close(); });
  }

  void Close() {
    error_code ignored;
    timer_.cancel();
    stream_.lowest_layer().close(ignored);
  }

  std::shared_ptr<ssl::context> ctx_;
  ssl::stream<tcp::socket> stream_;
  net::steady_timer timer_;
  std::shared_ptr<const TlsSyslogOptions> options_;
  IngestSink* sink_;
  std::shared_ptr<TlsSyslogCounters> counters_;
  OctetFramer framer_;
  std::array<char, kReadBufferBytes> buf_;
  std::vector<RawFrame> pending_;
  std::shared_ptr<const v1::Peer> peer_;
  std::string verify_error_;
  std::string timeout_reason_;
  bool handshaking_ = false;
  bool closing_ = false;
  bool eof_ = false;
};

}  // namespace

void StartTlsSyslogSession(tcp::socket socket, std::shared_ptr<ssl::context> ctx,
                           std::shared_ptr<const TlsSyslogOptions> options, IngestSink* sink,
                           std::shared_ptr<TlsSyslogCounters> counters, std::string listener) {
  std::make_shared<Session>(std::move(socket), std::move(ctx), std::move(options), sink,
                            std::move(counters), std::move(listener))
      ->Start();
}

}  // namespace trailkeep
