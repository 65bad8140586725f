#include "server/net/tls_syslog_session.h"

#include <array>
#include <chrono>
#include <deque>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/base/time_format.h"
#include "common/wire/octet_framer.h"
#include "server/net/ingest.h"
#include "server/net/tls_byte_stream.h"
#include "server/net/tls_context.h"
#include "trailkeep/v1/record.pb.h"
#include "trailkeep/v1/wire.pb.h"

namespace trailkeep {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;

constexpr size_t kReadBufferBytes = 16 * 1024;
constexpr int kMaxReadsPerWakeup = 256;
constexpr size_t kDrainBytes = 256 * 1024;
constexpr auto kRetryDelay = std::chrono::milliseconds(2);
constexpr auto kShutdownTimeout = std::chrono::seconds(2);

class Session;

// AgentLink of one session: serialises frames and posts them to the
// session's strand; a no-op once the session is gone.
class SessionLink final : public AgentLink {
 public:
  SessionLink(std::weak_ptr<Session> session, net::any_io_executor executor)
      : session_(std::move(session)), executor_(std::move(executor)) {}
  void SendResume(uint64_t epoch, uint64_t contiguous_seq, const std::string& head_mac) override {
    v1::CollectorFrame f;
    f.mutable_resume()->set_epoch(epoch);
    f.mutable_resume()->set_contiguous_seq(contiguous_seq);
    f.mutable_resume()->set_head_mac(head_mac);
    f.mutable_resume()->set_host(host_);
    Post(f, false);
  }
  void SendAck(uint64_t epoch, uint64_t contiguous_seq) override {
    v1::CollectorFrame f;
    f.mutable_ack()->set_epoch(epoch);
    f.mutable_ack()->set_contiguous_seq(contiguous_seq);
    Post(f, false);
  }
  void Close(const std::string& reason) override {
    v1::CollectorFrame f;
    f.mutable_goodbye()->set_reason(reason);
    Post(f, true);
  }
  void set_host(std::string host) { host_ = std::move(host); }

 private:
  void Post(const v1::CollectorFrame& f, bool then_close);
  std::weak_ptr<Session> session_;
  net::any_io_executor executor_;
  std::string host_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::unique_ptr<ByteStream> stream, std::shared_ptr<ssl::context> ctx,
          std::shared_ptr<const TlsSyslogOptions> options, IngestSink* sink,
          std::shared_ptr<TlsSyslogCounters> counters, ChannelIdentity identity,
          std::unique_ptr<ConnectionGate::Slot> slot)
      : slot_(std::move(slot)),
        stream_(std::move(stream), std::move(ctx)),
        timer_(stream_.executor()),
        options_(std::move(options)),
        sink_(sink),
        counters_(std::move(counters)),
        framer_(options_->max_frame_bytes) {
    auto peer = std::make_shared<v1::Peer>();
    peer->set_address(std::move(identity.address));
    peer->set_listener(std::move(identity.listener));
    peer->set_tunnel(std::move(identity.tunnel));
    peer_ = std::move(peer);
    ++counters_->connections;
    ++counters_->handshaking;
    handshaking_ = true;
  }

  ~Session() {
    if (handshaking_) --counters_->handshaking;
    --counters_->connections;
    if (link_) sink_->UnbindAgent(peer_->bound_host(), link_.get());
  }

  // On the strand: queues one octet-counted frame for the agent.
  void QueueFrame(std::string payload, bool then_close) {
    if (closed_ || goodbye_sent_) return;
    outbox_.push_back(OctetCounted(payload));
    if (then_close) {
      goodbye_sent_ = true;
      closing_ = true;
      counters_->frames_held -= pending_.size();
      pending_.clear();  // not acknowledged: the agent sends them again
    }
    if (!writing_) WriteNext();
  }

  void Start() {
    Arm(std::chrono::milliseconds(options_->handshake_timeout_ms), "TLS handshake timed out");
    stream_.AsyncHandshake(
        [self = shared_from_this()](const error_code& ec) { self->OnHandshake(ec); });
  }

 private:
  void Arm(std::chrono::milliseconds after, const char* why) {
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this(), why](error_code ec) {
      if (ec == net::error::operation_aborted) return;
      self->timeout_reason_ = why;
      self->stream_.Close();
    });
  }

  void OnHandshake(error_code ec) {
    handshaking_ = false;
    --counters_->handshaking;
    if (slot_) slot_->HandshakeDone();
    if (ec) {
      std::string reason = !timeout_reason_.empty() ? timeout_reason_
                           : !stream_.verify_error().empty()
                               ? "certificate refused: " + stream_.verify_error()
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
    const bool agent = AgentAlpnSelected(stream_.native_handle());
    if (!agent && !peer_->tunnel().empty()) return RefuseThroughTunnel();
    if (agent && !BindAgent()) return;
    ReadSome();
  }

  // Through a tunnel only the node's own agent may speak: plain syslog could
  // name any HOSTNAME (docs/tunnels.md). Recorded like any refused agent.
  void RefuseThroughTunnel() {
    ++counters_->refused;
    sink_->ReportConnectionEvent(ConnectionEventKind::kAgentRefused, *peer_,
                                 "a connection through the tunnel to " + peer_->tunnel() +
                                     " did not negotiate trailkeep/1: only the node's agent may "
                                     "send through it");
    Shutdown();
  }

  // trailkeep/1: bind the connection to its host (refused: Goodbye, close).
  bool BindAgent() {
    auto link = std::make_shared<SessionLink>(weak_from_this(), stream_.executor());
    std::string why;
    const std::string host = sink_->BindAgent(*peer_, link, &why);
    if (host.empty()) {
      ++counters_->refused;
      v1::CollectorFrame f;
      f.mutable_goodbye()->set_reason(why);
      QueueFrame(f.SerializeAsString(), true);
      return false;
    }
    link->set_host(host);
    auto peer = std::make_shared<v1::Peer>(*peer_);
    peer->set_bound_host(host);
    peer_ = std::move(peer);
    link_ = std::move(link);
    return true;
  }

  void WriteNext() {
    if (outbox_.empty()) {
      writing_ = false;
      if (goodbye_sent_) {
        Close();
      } else if (shutdown_after_write_) {
        Shutdown();
      }
      return;
    }
    writing_ = true;
    stream_.AsyncWrite(net::buffer(outbox_.front()),
                       [self = shared_from_this()](const error_code& ec, size_t) {
                         self->outbox_.pop_front();
                         if (ec) {
                           self->writing_ = false;
                           self->Close();
                           return;
                         }
                         self->WriteNext();
                       });
  }

  void ReadSome() {
    Arm(std::chrono::milliseconds(options_->idle_timeout_ms), "idle timeout");
    stream_.AsyncReadSome(
        net::buffer(buf_),
        [self = shared_from_this()](const error_code& ec, size_t n) { self->OnRead(ec, n); });
  }

  // OpenSSL hands out one TLS record per read, and senders such as loggen
  // put each message in its own record: keep reading what is already there
  // so one Offer() carries many frames instead of one.
  void DrainReady(error_code* ec) {
    // A synchronous read must not run beside a pending asynchronous write.
    if (writing_) return;
    for (int i = 0; i < kMaxReadsPerWakeup && framer_.Pending().size() < kDrainBytes; ++i) {
      error_code rec;
      const size_t n = stream_.ReadSomeNow(net::buffer(buf_), rec);
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
      counters_->frames_held += pending_.size();
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
    const size_t held = pending_.size();
    if (held > 0 && !sink_->Offer(&pending_)) {
      timer_.expires_after(kRetryDelay);
      timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (ec != net::error::operation_aborted) self->Deliver();
      });
      return;
    }
    counters_->frames_held -= held;
    if (eof_ || closing_) {
      if (goodbye_sent_) return;  // WriteNext closes once the Goodbye is out
      if (writing_) {
        shutdown_after_write_ = true;  // no TLS shutdown beside a pending write
        return;
      }
      Shutdown();
    } else {
      ReadSome();
    }
  }

  // Attempts a close_notify exchange, bounded in time, then closes.
  void Shutdown() {
    Arm(kShutdownTimeout, "shutdown");
    stream_.AsyncShutdown([self = shared_from_this()](const error_code&) { self->Close(); });
  }

  void Close() {
    closed_ = true;
    timer_.cancel();
    stream_.Close();
  }

  std::unique_ptr<ConnectionGate::Slot> slot_;  // null for adopted connections
  TlsByteStream stream_;
  net::steady_timer timer_;
  std::shared_ptr<const TlsSyslogOptions> options_;
  IngestSink* sink_;
  std::shared_ptr<TlsSyslogCounters> counters_;
  OctetFramer framer_;
  std::array<char, kReadBufferBytes> buf_;
  std::vector<RawFrame> pending_;
  std::shared_ptr<const v1::Peer> peer_;
  std::string timeout_reason_;
  bool handshaking_ = false;
  bool closing_ = false;
  bool eof_ = false;
  bool closed_ = false;
  // Agent connections only.
  std::shared_ptr<SessionLink> link_;
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool goodbye_sent_ = false;
  bool shutdown_after_write_ = false;
};

void SessionLink::Post(const v1::CollectorFrame& f, bool then_close) {
  net::post(executor_, [session = session_, payload = f.SerializeAsString(), then_close]() mutable {
    if (auto s = session.lock()) s->QueueFrame(std::move(payload), then_close);
  });
}

}  // namespace

void StartTlsSyslogSession(std::unique_ptr<ByteStream> stream, std::shared_ptr<ssl::context> ctx,
                           std::shared_ptr<const TlsSyslogOptions> options, IngestSink* sink,
                           std::shared_ptr<TlsSyslogCounters> counters, ChannelIdentity identity,
                           std::unique_ptr<ConnectionGate::Slot> slot) {
  std::make_shared<Session>(std::move(stream), std::move(ctx), std::move(options), sink,
                            std::move(counters), std::move(identity), std::move(slot))
      ->Start();
}

}  // namespace trailkeep
