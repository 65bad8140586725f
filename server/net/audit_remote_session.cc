#include "server/net/audit_remote_session.h"

#include <array>
#include <chrono>
#include <deque>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/wire/audit_remote_frame.h"
#include "common/wire/port60_hello.h"
#include "server/net/adopted_connection.h"
#include "server/net/ingest.h"
#include "server/net/tls_syslog_listener.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

namespace net = boost::asio;
namespace ar = auditremote;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr auto kRetryInterval = std::chrono::milliseconds(20);

// One reply owed to the client, in request order.
struct Reply {
  uint32_t seq = 0;
  uint32_t type = ar::kAck;
  std::string text;
  bool ready = false;
  Clock::time_point since = Clock::now();
};

class Session final : public AuditRemoteSessionHandle,
                      public std::enable_shared_from_this<Session> {
 public:
  Session(std::unique_ptr<ByteStream> stream, std::shared_ptr<const AuditRemoteOptions> options,
          IngestSink* ingest, ConnectionReporter* reports, TlsSyslogListener* agents,
          std::shared_ptr<AuditRemoteCounters> counters)
      : stream_(std::move(stream)),
        options_(std::move(options)),
        ingest_(ingest),
        reports_(reports),
        agents_(agents),
        counters_(std::move(counters)),
        decoder_(options_->max_payload_bytes),
        retry_(stream_->executor()),
        idle_(stream_->executor()),
        watch_(stream_->executor()) {}

  ~Session() override { --counters_->connections; }

  void Start(const ChannelIdentity& identity, Port60Protocols admitted) {
    admitted_ = admitted;
    ++counters_->connections;
    ++counters_->accepted;
    identity_ = identity;
    // A tunnel's node is the sender: the channel says so, not the records.
    auto peer = std::make_shared<v1::Peer>();
    peer->set_address(identity.address);
    peer->set_listener(identity.listener);
    peer->set_bound_host(identity.tunnel);
    peer_ = std::move(peer);
    ArmIdleTimer();
    Read();
  }

  void End() override {
    net::post(stream_->executor(), [self = shared_from_this()] {
      if (self->closed_) return;
      // Unsolicited and accepted whatever its sequence: it jumps the queue.
      self->ending_ = true;
      self->replies_.clear();
      self->Flush();
    });
  }

 private:
  void Read() {
    if (closed_ || reading_) return;
    reading_ = true;
    stream_->AsyncReadSome(net::buffer(buf_),
                           [self = shared_from_this()](const error_code& ec, size_t n) {
                             self->reading_ = false;
                             self->OnRead(ec, n);
                           });
  }

  void OnRead(error_code ec, size_t n) {
    if (closed_) return;
    if (ec) {
      if (decoder_.buffered() > 0 && ec == net::error::eof) {
        reports_->ReportConnectionEvent(ConnectionEventKind::kTruncatedFrame, *peer_,
                                        "port 60: connection closed inside a frame (" +
                                            std::to_string(decoder_.buffered()) +
                                            " bytes not stored)");
      }
      Close();
      return;
    }
    last_input_ = Clock::now();
    if (!decided_) {
      first_bytes_.append(buf_.data(), n);
      if (ClassifyPort60Start(first_bytes_) != Port60Start::kNotHello) return OnAgentHello();
      decided_ = true;
      decoder_.Feed(first_bytes_);
      first_bytes_.clear();
    } else {
      decoder_.Feed(std::string_view(buf_.data(), n));
    }
    Process();
  }

  // A trailkeep agent: answer its hello, then its TLS session is the TLS
  // syslog listener's. It must wait for the answer before sending more.
  void OnAgentHello() {
    switch (ClassifyPort60Start(first_bytes_)) {
      case Port60Start::kNeedMore:
        return Read();
      case Port60Start::kAgent:
        break;
      case Port60Start::kNotHello:  // not called for these
      case Port60Start::kBadHello:
        return Refuse("a NUL byte starts neither an audit record nor a trailkeep agent's hello");
    }
    if (!admitted_.first.Admits(Protocol::kAgentHello) || agents_ == nullptr) {
      return Refuse("trailkeep agents are not accepted on this listener");
    }
    decided_ = true;
    writing_ = true;
    out_.assign(kAgentHelloAccepted);
    stream_->AsyncWrite(
        net::buffer(out_), [self = shared_from_this()](const error_code& ec, size_t) {
          self->writing_ = false;
          if (ec) return self->Close();
          self->closed_ = true;  // the stream moves on; this session ends
          self->retry_.cancel();
          self->idle_.cancel();
          self->watch_.cancel();
          self->agents_->Adopt(AdoptedConnection{std::move(self->stream_), self->identity_,
                                                 self->admitted_.after_hello});
        });
  }

  // Takes decoded items while nothing is blocked and the reply queue has
  // room; reads more when everything buffered is taken.
  void Process() {
    ar::Item item;
    while (!closed_ && !failed_ && !Blocked() && replies_.size() < options_->max_pending_replies &&
           decoder_.Next(&item)) {
      Handle(std::move(item));
    }
    if (!closed_ && !failed_ && !Blocked() && replies_.size() < options_->max_pending_replies) {
      Read();
    }
  }

  void Handle(ar::Item item) {
    switch (item.kind) {
      case ar::Item::Kind::kError:
        return Refuse(item.error);
      case ar::Item::Kind::kAsciiLine:
        ++counters_->ascii_lines;
        return Submit(std::move(item.payload), nullptr);
      case ar::Item::Kind::kManaged:
        break;
    }
    auto reply = std::make_shared<Reply>();
    reply->seq = item.header.seq;
    replies_.push_back(reply);
    if (item.header.type == ar::kHeartbeat) {
      ++counters_->heartbeats;
      reply->ready = true;  // acknowledged at once, even while storage is blocked
      Flush();
      return;
    }
    ++counters_->records;
    Submit(std::move(item.payload), std::move(reply));
    WatchPending();
  }

  // A record the store has not taken yet: nothing else is read meanwhile.
  bool Blocked() const { return !blocked_.frames.empty(); }

  // Offers one record; `reply` (null for ASCII lines) becomes ready once the
  // record is durable.
  void Submit(std::string payload, std::shared_ptr<Reply> reply) {
    blocked_.frames.clear();
    blocked_.frames.push_back(RawFrame{std::move(payload), options_->clock->NowMicros(), peer_});
    blocked_reply_ = std::move(reply);
    TryOffer();  // the caller's loop goes on once nothing is blocked
  }

  // True when the blocked record was taken; false when a retry is scheduled.
  bool TryOffer() {
    std::weak_ptr<Session> weak = weak_from_this();
    std::shared_ptr<Reply> reply = blocked_reply_;
    auto on_durable = [weak, reply, executor = stream_->executor(), low = options_->disk_low] {
      if (!reply) return;
      net::post(executor, [weak, reply, low] {
        // Stored either way; DISKLOW tells the client, as auditd past its space_left.
        if (low && low->load()) reply->type = ar::kDiskLow;
        reply->ready = true;
        if (auto self = weak.lock()) self->Flush();
      });
    };
    if (ingest_->Offer(&blocked_, std::move(on_durable))) {
      blocked_reply_.reset();  // the sink took (and cleared) blocked_.frames
      return true;
    }
    const auto& full = options_->disk_full;
    if (reply && !reply->ready && full && full->load(std::memory_order_relaxed)) {
      // The disk is full by policy ("block"): refuse the record now, as
      // auditd does; the client keeps it and resends it. The session reads
      // on, so heartbeats are answered and later records refused in turn.
      reply->type = ar::kDiskFull;
      reply->text = "disk full";
      reply->ready = true;
      ++counters_->disk_full_replies;
      blocked_.frames.clear();
      blocked_reply_.reset();
      Flush();
      return true;
    }
    retry_.expires_after(kRetryInterval);
    retry_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec && !self->closed_ && self->Blocked() && self->TryOffer()) self->Process();
    });
    return false;
  }

  // Storage that has not made a record durable within blocked_reply_ms gets
  // DISKFULL for it, well before audisp-remote's reply timeout (5 s), which
  // would make it give up. The client keeps the record and resends it; if
  // the first copy is stored after all, RecordDeduper drops the resend.
  void WatchPending() {
    if (watching_ || closed_) return;
    const auto limit = std::chrono::milliseconds(options_->blocked_reply_ms);
    for (const auto& r : replies_) {
      if (r->ready) continue;
      watching_ = true;
      watch_.expires_at(r->since + limit);
      watch_.async_wait([self = shared_from_this()](error_code ec) {
        self->watching_ = false;
        if (!ec && !self->closed_) self->AnswerStalled();
      });
      return;
    }
  }

  void AnswerStalled() {
    const auto limit = std::chrono::milliseconds(options_->blocked_reply_ms);
    const auto now = Clock::now();
    for (auto& r : replies_) {
      if (r->ready || now - r->since < limit) continue;
      r->type = ar::kDiskFull;
      r->text = "disk full";
      r->ready = true;
      ++counters_->disk_full_replies;
    }
    Flush();
    WatchPending();
  }

  // A frame the protocol cannot carry: fatal reply after the pending ones, close.
  void Refuse(const std::string& why) {
    failed_ = true;
    ++counters_->framing_errors;
    reports_->ReportConnectionEvent(ConnectionEventKind::kFramingError, *peer_, "port 60: " + why);
    auto reply = std::make_shared<Reply>();
    reply->type = ar::kGenericError;
    reply->text = why.substr(0, 256);
    reply->ready = true;
    replies_.push_back(std::move(reply));
    Flush();
  }

  // Writes the replies that are ready, in order; closes after a fatal one.
  void Flush() {
    if (closed_ || writing_) return;
    out_.clear();
    if (ending_) {
      out_ = ar::EncodeFrame(ar::kEnding, 0);
    }
    while (!ending_ && !replies_.empty() && replies_.front()->ready) {
      const Reply& r = *replies_.front();
      out_ += ar::EncodeFrame(r.type, r.seq, r.text);
      replies_.pop_front();
    }
    if (out_.empty()) return;
    writing_ = true;
    stream_->AsyncWrite(net::buffer(out_),
                        [self = shared_from_this()](const error_code& ec, size_t) {
                          self->writing_ = false;
                          if (ec || self->ending_ || (self->failed_ && self->replies_.empty())) {
                            self->Close();
                            return;
                          }
                          self->Flush();
                          self->Process();  // the reply queue may have room again
                        });
  }

  void ArmIdleTimer() {
    if (options_->idle_timeout_ms <= 0) return;
    idle_.expires_after(std::chrono::milliseconds(options_->idle_timeout_ms));
    idle_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->closed_) return;
      const auto limit = std::chrono::milliseconds(self->options_->idle_timeout_ms);
      if (Clock::now() - self->last_input_ >= limit) {
        self->Close();
        return;
      }
      self->ArmIdleTimer();
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    retry_.cancel();
    idle_.cancel();
    watch_.cancel();
    stream_->Close();
  }

  std::unique_ptr<ByteStream> stream_;
  ChannelIdentity identity_;
  std::shared_ptr<const AuditRemoteOptions> options_;
  IngestSink* ingest_;
  ConnectionReporter* reports_;
  TlsSyslogListener* agents_;
  Port60Protocols admitted_{{}, {}};
  std::shared_ptr<AuditRemoteCounters> counters_;
  std::shared_ptr<const v1::Peer> peer_;
  ar::AuditRemoteDecoder decoder_;
  std::array<char, 16 * 1024> buf_{};
  std::deque<std::shared_ptr<Reply>> replies_;
  std::string out_;
  IngestBatch blocked_{FrameFormat::kAuditRecord, {}};
  std::shared_ptr<Reply> blocked_reply_;
  Clock::time_point last_input_ = Clock::now();
  net::steady_timer retry_;
  net::steady_timer idle_;
  net::steady_timer watch_;
  bool watching_ = false;
  bool decided_ = false;     // agent hello or auditd protocol, from the first bytes
  std::string first_bytes_;  // until decided
  bool reading_ = false;
  bool writing_ = false;
  bool failed_ = false;
  bool ending_ = false;
  bool closed_ = false;
};

}  // namespace

std::shared_ptr<AuditRemoteSessionHandle> StartAuditRemoteSession(
    std::unique_ptr<ByteStream> stream, const ChannelIdentity& identity, Port60Protocols admitted,
    std::shared_ptr<const AuditRemoteOptions> options, IngestSink* ingest,
    ConnectionReporter* reports, TlsSyslogListener* agents,
    std::shared_ptr<AuditRemoteCounters> counters) {
  auto session = std::make_shared<Session>(std::move(stream), std::move(options), ingest, reports,
                                           agents, std::move(counters));
  session->Start(identity, admitted);
  return session;
}

}  // namespace trailkeep
