// FramedTlsSession: octet-counted frames over an established TLS stream, the
// transport both RFC 5425 and trailkeep/1 sessions run on. Internal to
// server/net (names Asio).
//
// Reading: waits for the peer under the idle deadline, holding no read
// buffer (TlsByteStream::AsyncWaitReadable), then reads what is there into
// the thread's scratch buffer; complete frames are offered to
// the IngestSink after each read, and while the sink refuses them the session
// stops reading and retries (back-pressure). A framing error closes the
// connection after the frames before it were handed over. At EOF or reset a
// half-sent frame is reported. Writing (Send): octet-counted frames go out one
// write at a time beside the pending read; a frame sent with then_close is
// the last one, and frames read but not yet offered are dropped (an agent
// sends what was not acknowledged again). A peer that does not read stalls
// the write, not the reads: frames sent meanwhile queue, a SendLatest frame
// (a cumulative Ack) replaces the queued one before it, and a queue that
// still exceeds kMaxOutboxBytes closes the connection, recorded as a
// connection-limit event (the agent resends what was not acknowledged).
//
// Memory: a session going back to waiting gives back the frame vector and
// the framer's buffer grown by the burst before (ReleaseIdleMemory), so an
// idle connection costs its TLS state and little more.
//
// Concurrency: every method on executor() (the stream's strand).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "common/wire/octet_framer.h"
#include "server/net/ingest.h"
#include "server/net/tls_byte_stream.h"
#include "server/net/tls_syslog_listener.h"

namespace trailkeep {

class FramedTlsSession : public std::enable_shared_from_this<FramedTlsSession> {
 public:
  // `held` stays alive as long as the session (the listener's connection count).
  FramedTlsSession(std::unique_ptr<TlsByteStream> stream, std::shared_ptr<const v1::Peer> peer,
                   std::shared_ptr<const TlsSyslogOptions> options, IngestSink* ingest,
                   ConnectionReporter* reports, std::shared_ptr<TlsSyslogCounters> counters,
                   std::shared_ptr<void> held);
  ~FramedTlsSession();
  FramedTlsSession(const FramedTlsSession&) = delete;
  FramedTlsSession& operator=(const FramedTlsSession&) = delete;

  boost::asio::any_io_executor executor() { return stream_->executor(); }
  const std::shared_ptr<const v1::Peer>& peer() const { return peer_; }
  // Before StartReading: the identity every frame read carries.
  void set_peer(std::shared_ptr<const v1::Peer> peer) { peer_ = std::move(peer); }
  // Runs when the session ends (is destroyed).
  void set_on_end(std::function<void()> on_end) { on_end_ = std::move(on_end); }

  void StartReading();
  // Bytes of frames queued to write, the one being written included.
  static constexpr size_t kMaxOutboxBytes = 64 * 1024;

  // Queues one frame (its octet count is added here).
  void Send(std::string payload, bool then_close);
  // Queues a frame that supersedes the previous SendLatest frame while that
  // one waits behind a stalled write: a cumulative Ack.
  void SendLatest(std::string payload);
  // A close_notify exchange, bounded in time, then closes.
  void Shutdown();
  // Closes at once (a peer whose certificate is no longer trusted).
  void Close();
  // Keeps `held` as long as the session (ServerTls's tracking handle).
  void Keep(std::shared_ptr<void> held) { tracked_ = std::move(held); }
  SSL* native_handle() { return stream_->native_handle(); }

 private:
  void Queue(std::string framed, bool supersedes_last);
  void PopWritten();
  void Arm(std::chrono::milliseconds after, const char* why);
  void WriteNext();
  void ReadSome();
  void ReleaseIdleMemory();
  void DrainReady(boost::system::error_code* ec, int64_t now);
  void TakeFrames(std::string_view bytes, int64_t now);
  void OnReadable(boost::system::error_code ec);
  void Deliver();

  std::unique_ptr<TlsByteStream> stream_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<const v1::Peer> peer_;
  std::shared_ptr<const TlsSyslogOptions> options_;
  IngestSink* ingest_;
  ConnectionReporter* reports_;
  std::shared_ptr<TlsSyslogCounters> counters_;
  std::shared_ptr<void> held_;
  std::shared_ptr<void> tracked_;
  std::function<void()> on_end_;
  OctetFramer framer_;
  IngestBatch pending_;  // syslog frames read, not yet taken
  std::string timeout_reason_;
  bool closing_ = false;
  bool eof_ = false;
  bool closed_ = false;
  // A vector, not a deque: libstdc++'s deque allocates 576 bytes as it is
  // made, and this queue is empty or a few frames long.
  std::vector<std::string> outbox_;
  size_t outbox_bytes_ = 0;
  bool last_supersedable_ = false;  // outbox_.back() came from SendLatest
  bool writing_ = false;
  bool last_sent_ = false;  // a then_close frame is queued
  bool shutdown_after_write_ = false;
};

}  // namespace trailkeep
