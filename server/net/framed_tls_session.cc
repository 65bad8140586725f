#include "server/net/framed_tls_session.h"

#include <array>
#include <utility>
#include <vector>

#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

namespace net = boost::asio;
using boost::system::error_code;

namespace {

constexpr int kMaxReadsPerWakeup = 256;
constexpr size_t kDrainBytes = 256 * 1024;
// Frames taken per wakeup, whatever their size: parsed, a frame costs about
// 1 KiB however few bytes it came in (the committer's estimate), so 256 KiB
// of three-byte frames would otherwise be one 90 MB offer that the
// committer's queue bound lets in whole. One 16 KiB read's frames may come on
// top.
constexpr size_t kMaxFramesPerWakeup = 4096;
constexpr auto kRetryDelay = std::chrono::milliseconds(2);
constexpr auto kShutdownTimeout = std::chrono::seconds(2);
// A frame vector larger than this is given back when the session waits.
constexpr size_t kIdleFrameCapacity = 64;

// What one ReadSomeNow fills: OpenSSL returns at most one record's 16 KiB.
// The frames are copied out before the session waits again, so the sessions
// of one I/O thread share it instead of holding one each.
constexpr size_t kScratchBytes = 16 * 1024;
char* ReadScratch() {
  thread_local std::array<char, kScratchBytes> scratch;
  return scratch.data();
}

}  // namespace

FramedTlsSession::FramedTlsSession(std::unique_ptr<TlsByteStream> stream,
                                   std::shared_ptr<const v1::Peer> peer,
                                   std::shared_ptr<const TlsSyslogOptions> options,
                                   IngestSink* ingest, ConnectionReporter* reports,
                                   std::shared_ptr<TlsSyslogCounters> counters,
                                   std::shared_ptr<void> held)
    : stream_(std::move(stream)),
      timer_(stream_->executor()),
      peer_(std::move(peer)),
      options_(std::move(options)),
      ingest_(ingest),
      reports_(reports),
      counters_(std::move(counters)),
      held_(std::move(held)),
      framer_(options_->max_frame_bytes) {}

FramedTlsSession::~FramedTlsSession() {
  counters_->outbox_bytes -= outbox_bytes_;
  if (on_end_) on_end_();
}

void FramedTlsSession::StartReading() { ReadSome(); }

void FramedTlsSession::Send(std::string payload, bool then_close) {
  if (closed_ || last_sent_) return;
  Queue(OctetCounted(payload), false);
  if (closed_) return;
  if (then_close) {
    last_sent_ = true;
    closing_ = true;
    counters_->frames_held -= pending_.frames.size();
    pending_.frames.clear();
  }
  if (!writing_) WriteNext();
}

void FramedTlsSession::SendLatest(std::string payload) {
  if (closed_ || last_sent_) return;
  Queue(OctetCounted(payload), true);
  if (!closed_ && !writing_) WriteNext();
}

// The front frame is being written while writing_: only a frame behind it is
// replaced.
void FramedTlsSession::Queue(std::string framed, bool supersedes_last) {
  if (supersedes_last && last_supersedable_ && outbox_.size() > (writing_ ? 1u : 0u)) {
    outbox_bytes_ -= outbox_.back().size();
    counters_->outbox_bytes -= outbox_.back().size();
    outbox_.pop_back();
  }
  if (outbox_bytes_ + framed.size() > kMaxOutboxBytes) {
    ++counters_->outbox_overflows;
    reports_->ReportConnectionEvent(ConnectionEventKind::kConnectionLimit, *peer_,
                                    "the peer does not read: " + std::to_string(outbox_bytes_) +
                                        " bytes in " + std::to_string(outbox_.size()) +
                                        " frames unwritten; connection closed");
    counters_->frames_held -= pending_.frames.size();
    pending_.frames.clear();
    closing_ = true;
    Close();
    return;
  }
  outbox_bytes_ += framed.size();
  counters_->outbox_bytes += framed.size();
  outbox_.push_back(std::move(framed));
  last_supersedable_ = supersedes_last;
}

void FramedTlsSession::PopWritten() {
  outbox_bytes_ -= outbox_.front().size();
  counters_->outbox_bytes -= outbox_.front().size();
  outbox_.erase(outbox_.begin());
  if (outbox_.empty()) last_supersedable_ = false;
}

void FramedTlsSession::Arm(std::chrono::milliseconds after, const char* why) {
  timer_.expires_after(after);
  timer_.async_wait([self = shared_from_this(), why](error_code ec) {
    if (ec == net::error::operation_aborted) return;
    self->timeout_reason_ = why;
    self->stream_->Close();
  });
}

void FramedTlsSession::WriteNext() {
  if (outbox_.empty()) {
    writing_ = false;
    if (last_sent_) {
      Close();
    } else if (shutdown_after_write_) {
      Shutdown();
    }
    return;
  }
  writing_ = true;
  stream_->AsyncWrite(net::buffer(outbox_.front()),
                      [self = shared_from_this()](const error_code& ec, size_t) {
                        self->PopWritten();
                        if (ec) {
                          self->writing_ = false;
                          self->Close();
                          return;
                        }
                        self->WriteNext();
                      });
}

void FramedTlsSession::ReadSome() {
  ReleaseIdleMemory();
  Arm(std::chrono::milliseconds(options_->idle_timeout_ms), "idle timeout");
  stream_->AsyncWaitReadable(
      [self = shared_from_this()](const error_code& ec) { self->OnReadable(ec); });
}

void FramedTlsSession::ReleaseIdleMemory() {
  framer_.Trim();
  if (pending_.frames.capacity() > kIdleFrameCapacity) {
    std::vector<RawFrame>().swap(pending_.frames);
  }
}

// OpenSSL hands out one TLS record per read, and senders such as loggen put
// each message in its own record: keep reading what is already there so one
// Offer() carries many frames instead of one, up to kDrainBytes or
// kMaxFramesPerWakeup. TlsByteStream lets a synchronous read run beside a
// pending asynchronous write (an agent's Ack going out).
void FramedTlsSession::DrainReady(error_code* ec, int64_t now) {
  char* buf = ReadScratch();
  size_t drained = 0;
  for (int i = 0; i < kMaxReadsPerWakeup && drained < kDrainBytes &&
                  pending_.frames.size() < kMaxFramesPerWakeup && !closing_;
       ++i) {
    error_code rec;
    const size_t n = stream_->ReadSomeNow(net::buffer(buf, kScratchBytes), rec);
    if (n > 0) {
      drained += n;
      TakeFrames(std::string_view(buf, n), now);
    }
    if (rec == net::error::would_block || rec == net::error::try_again) return;
    if (rec) {
      *ec = rec;
      return;
    }
  }
}

// Feeds `bytes` to the framer and moves every complete frame into pending_;
// a framing error closes the connection.
void FramedTlsSession::TakeFrames(std::string_view bytes, int64_t now) {
  counters_->bytes += bytes.size();
  framer_.Feed(bytes);
  std::string_view frame;
  OctetFramer::Kind kind;
  OctetFramer::Result r;
  size_t got = 0;
  while ((r = framer_.Next(&frame, &kind)) == OctetFramer::Result::kFrame) {
    pending_.frames.push_back(RawFrame{std::string(frame), now, peer_});
    ++got;
  }
  counters_->frames += got;
  counters_->frames_held += got;
  if (r == OctetFramer::Result::kError && !closing_) {
    ++counters_->framing_errors;
    reports_->ReportConnectionEvent(ConnectionEventKind::kFramingError, *peer_,
                                    framer_.error() + "; connection closed");
    closing_ = true;
  }
}

void FramedTlsSession::OnReadable(error_code ec) {
  if (!ec) DrainReady(&ec, options_->clock->NowMicros());
  if (ec) {
    if (!framer_.Pending().empty() && !closing_) {
      reports_->ReportConnectionEvent(
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
void FramedTlsSession::Deliver() {
  const size_t held = pending_.frames.size();
  if (held > 0 && !ingest_->Offer(&pending_, nullptr)) {
    timer_.expires_after(kRetryDelay);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec != net::error::operation_aborted) self->Deliver();
    });
    return;
  }
  counters_->frames_held -= held;
  if (eof_ || closing_) {
    if (last_sent_) return;  // WriteNext closes once the last frame is out
    if (writing_) {
      shutdown_after_write_ = true;  // no TLS shutdown beside a pending write
      return;
    }
    Shutdown();
  } else {
    ReadSome();
  }
}

void FramedTlsSession::Shutdown() {
  Arm(kShutdownTimeout, "shutdown");
  stream_->AsyncShutdown([self = shared_from_this()](const error_code&) { self->Close(); });
}

void FramedTlsSession::Close() {
  closed_ = true;
  timer_.cancel();
  stream_->Close();
}

}  // namespace trailkeep
