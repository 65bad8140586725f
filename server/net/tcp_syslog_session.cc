#include "server/net/tcp_syslog_session.h"

#include <utility>

#include "common/base/endpoint.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

namespace net = boost::asio;
using boost::system::error_code;

namespace {

constexpr auto kRetryDelay = std::chrono::milliseconds(2);

}  // namespace

TcpSyslogSession::TcpSyslogSession(std::unique_ptr<ByteStream> stream,
                                   const ChannelIdentity& identity,
                                   std::shared_ptr<PlainSyslogContext> ctx)
    : stream_(std::move(stream)),
      timer_(stream_->executor()),
      ctx_(std::move(ctx)),
      peer_(PlainPeer(identity.address, identity.listener, v1::TRANSPORT_TCP_SYSLOG)),
      sender_ip_(AddressOfEndpoint(identity.address)),
      framer_(ctx_->options.max_frame_bytes) {
  ++ctx_->counters.tcp_connections;
}

TcpSyslogSession::~TcpSyslogSession() { --ctx_->counters.tcp_connections; }

void TcpSyslogSession::Start() { ReadSome(); }

void TcpSyslogSession::ReadSome() {
  timer_.expires_after(std::chrono::milliseconds(ctx_->options.idle_timeout_ms));
  timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec == net::error::operation_aborted) return;
    self->timed_out_ = true;
    self->stream_->Close();
  });
  stream_->AsyncReadSome(
      net::buffer(buf_),
      [self = shared_from_this()](const error_code& ec, size_t n) { self->OnRead(ec, n); });
}

void TcpSyslogSession::OnRead(error_code ec, size_t n) {
  PlainSyslogCounters& c = ctx_->counters;
  if (n > 0) {
    c.bytes += n;
    framer_.Feed(std::string_view(buf_.data(), n));
    const int64_t now = ctx_->options.clock->NowMicros();
    std::string_view frame;
    OctetFramer::Kind kind;
    OctetFramer::Result r;
    size_t got = 0;
    while ((r = framer_.Next(&frame, &kind)) == OctetFramer::Result::kFrame) {
      waiting_.push_back(RawFrame{std::string(frame), now, peer_});
      ++got;
    }
    c.tcp_frames += got;
    c.frames_held += got;
    if (r == OctetFramer::Result::kError) {
      ++c.tcp_framing_errors;
      ctx_->reports->ReportConnectionEvent(ConnectionEventKind::kFramingError, *peer_,
                                           framer_.error() + "; connection closed");
      closing_ = true;
    }
  }
  if (ec) {
    if (!framer_.Pending().empty() && !closing_) {
      ctx_->reports->ReportConnectionEvent(
          ConnectionEventKind::kTruncatedFrame, *peer_,
          "connection ended (" + (timed_out_ ? std::string("idle timeout") : ec.message()) +
              ") inside a frame; " + std::to_string(framer_.Pending().size()) +
              " bytes of an incomplete frame discarded");
    }
    closing_ = true;
  }
  timer_.cancel();
  Deliver();
}

// Admits what the sender's rate allows, hands it to the sink, and reads on
// only once everything read is handed over.
void TcpSyslogSession::Deliver() {
  const int64_t now = ctx_->options.clock->NowMicros();
  while (!waiting_.empty() && ctx_->limiter.Admit(sender_ip_, now)) {
    ready_.frames.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
  const size_t offered = ready_.frames.size();
  if (offered > 0 && !ctx_->sink->Offer(&ready_, {})) return RetryAfter(kRetryDelay);
  ctx_->counters.frames_held -= offered;
  if (!waiting_.empty()) {
    ++ctx_->counters.tcp_rate_limited;
    return RetryAfter(std::chrono::microseconds(ctx_->limiter.RetryAfterMicros()));
  }
  if (closing_) {
    stream_->Close();
  } else {
    ReadSome();
  }
}

void TcpSyslogSession::RetryAfter(std::chrono::microseconds delay) {
  timer_.expires_after(delay);
  timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec != net::error::operation_aborted) self->Deliver();
  });
}

}  // namespace trailkeep
