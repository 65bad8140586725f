// The port-60 protocol over an in-process ByteStream, as a reverse SSH
// tunnel hands its channels over: the sender is who the ChannelIdentity
// says (the tunnel's node), records are acknowledged on the same stream.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <gtest/gtest.h>

#include "common/base/clock.h"
#include "common/metrics/counter_registry.h"
#include "common/wire/audit_remote_frame.h"
#include "server/net/audit_remote_listener.h"
#include "server/net/byte_stream.h"
#include "server/net/ingest.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

namespace net = boost::asio;
using boost::system::error_code;

// Bytes the test feeds in; what the session writes is kept in `written`.
class MemoryStream final : public ByteStream {
 public:
  struct Shared {
    std::string input;
    bool eof = false;
    std::string written;
    bool closed = false;
    net::mutable_buffer read_buffer;
    Handler read_handler;
  };
  MemoryStream(net::any_io_executor ex, std::shared_ptr<Shared> s) : ex_(ex), s_(std::move(s)) {}

  net::any_io_executor executor() override { return ex_; }
  void AsyncReadSome(net::mutable_buffer b, Handler h) override {
    s_->read_buffer = b;
    s_->read_handler = std::move(h);
    Deliver(ex_, s_);
  }
  void AsyncWrite(net::const_buffer b, Handler h) override {
    s_->written.append(static_cast<const char*>(b.data()), b.size());
    net::post(ex_, [h = std::move(h), n = b.size()] { h({}, n); });
  }
  size_t ReadSomeNow(net::mutable_buffer, error_code& ec) override {
    ec = net::error::would_block;
    return 0;
  }
  size_t WriteSomeNow(net::const_buffer b, error_code& ec) override {
    ec = {};
    s_->written.append(static_cast<const char*>(b.data()), b.size());
    return b.size();
  }
  void Close() override { s_->closed = true; }

  // Completes a pending read with what input holds (or eof).
  static void Deliver(net::any_io_executor ex, const std::shared_ptr<Shared>& s) {
    if (!s->read_handler || (s->input.empty() && !s->eof)) return;
    const size_t n = std::min(s->input.size(), s->read_buffer.size());
    std::memcpy(s->read_buffer.data(), s->input.data(), n);
    s->input.erase(0, n);
    net::post(ex, [h = std::move(s->read_handler), n] {
      h(n > 0 ? error_code() : error_code(net::error::eof), n);
    });
    s->read_handler = nullptr;
  }

 private:
  net::any_io_executor ex_;
  std::shared_ptr<Shared> s_;
};

class RecordingSink final : public IngestSink, public ConnectionReporter {
 public:
  bool Offer(IngestBatch* batch, std::function<void()> on_durable) override {
    if (batch->format != FrameFormat::kAuditRecord) return false;
    for (auto& f : batch->frames) records.push_back(std::move(f));
    batch->frames.clear();
    on_durable();
    return true;
  }
  void ReportConnectionEvent(ConnectionEventKind, const v1::Peer&, const std::string&,
                             const ConnectionFields& = {}) override {}
  std::vector<RawFrame> records;
};

// A port-60 listener whose sessions the test serves streams to.
class AuditRemoteServeTest : public ::testing::Test {
 protected:
  AuditRemoteServeTest()
      : listener_(io_, Options(clock_), {&sink_, &sink_, nullptr}, nullptr, metrics_) {}
  ~AuditRemoteServeTest() override {
    listener_.Stop();
    io_.run_for(std::chrono::milliseconds(50));
    // A session still open holds its stream, whose pending read handler
    // (kept in shared_, not in the io_context as a socket's is) holds the
    // session: drop it, or LeakSanitizer reports the cycle.
    shared_->read_handler = nullptr;
  }
  static AuditRemoteOptions Options(ClockPtr clock) {
    AuditRemoteOptions o;
    o.addresses = {"127.0.0.1:0"};
    o.clock = std::move(clock);
    return o;
  }
  // Serves `input` as a channel of `identity`, on a strand as a tunnel does.
  void Serve(std::string input, const ChannelIdentity& identity) {
    shared_->input = std::move(input);
    net::post(strand_, [this, identity] {
      listener_.Serve(std::make_unique<MemoryStream>(strand_, shared_), identity);
    });
    io_.run_for(std::chrono::milliseconds(200));
  }

  net::io_context io_;
  net::strand<net::io_context::executor_type> strand_ = net::make_strand(io_);
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  RecordingSink sink_;
  CounterRegistry metrics_;  // outlives the listener that registers in it
  AuditRemoteListener listener_;
  std::shared_ptr<MemoryStream::Shared> shared_ = std::make_shared<MemoryStream::Shared>();
};

TEST_F(AuditRemoteServeTest, ATunnelChannelIsItsNodeAndGetsItsAcks) {
  const std::string record = "type=USER_CMD msg=audit(1700000100.001:5000): pid=100 uid=0";
  Serve(auditremote::EncodeFrame(auditremote::kHeartbeat, 1) +
            auditremote::EncodeFrame(auditremote::kMessage, 2, record),
        ChannelIdentity{"127.0.0.1:60", "127.0.0.1:6060", "node-a"});

  ASSERT_EQ(sink_.records.size(), 1u);
  EXPECT_EQ(sink_.records[0].bytes, record);
  const v1::Peer& peer = *sink_.records[0].peer;
  EXPECT_EQ(peer.bound_host(), "node-a");
  EXPECT_EQ(peer.address(), "127.0.0.1:60");
  EXPECT_EQ(peer.listener(), "127.0.0.1:6060");
  EXPECT_EQ(shared_->written, auditremote::EncodeFrame(auditremote::kAck, 1) +
                                  auditremote::EncodeFrame(auditremote::kAck, 2));
  EXPECT_EQ(listener_.counters().accepted.load(), 1u);

  // The channel closing ends the session, which closes its stream.
  net::post(strand_, [this] {
    shared_->eof = true;
    MemoryStream::Deliver(strand_, shared_);
  });
  io_.run_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(shared_->closed);
}

// A record is received when the listener's clock says, not the system's.
TEST_F(AuditRemoteServeTest, RecordsAreStampedByTheListenersClock) {
  clock_->Set(1'600'000'000'123'456);
  Serve(auditremote::EncodeFrame(auditremote::kMessage, 1, "type=EOE msg=audit(1.0:1):"),
        ChannelIdentity{"192.0.2.7:40000", "0.0.0.0:60", ""});
  clock_->Advance(std::chrono::seconds(30));
  shared_->input = auditremote::EncodeFrame(auditremote::kMessage, 2, "type=EOE msg=audit(1.0:2):");
  net::post(strand_, [this] { MemoryStream::Deliver(strand_, shared_); });
  io_.run_for(std::chrono::milliseconds(100));
  ASSERT_EQ(sink_.records.size(), 2u);
  EXPECT_EQ(sink_.records[0].receive_time_us, 1'600'000'000'123'456);
  EXPECT_EQ(sink_.records[1].receive_time_us, 1'600'000'030'123'456);
}

TEST_F(AuditRemoteServeTest, APlainTcpPeerIsNoNode) {
  Serve(auditremote::EncodeFrame(auditremote::kMessage, 7, "type=EOE msg=audit(1.0:1):"),
        ChannelIdentity{"192.0.2.7:40000", "0.0.0.0:60", ""});
  ASSERT_EQ(sink_.records.size(), 1u);
  EXPECT_EQ(sink_.records[0].peer->bound_host(), "");
  EXPECT_EQ(sink_.records[0].peer->address(), "192.0.2.7:40000");
}

}  // namespace
}  // namespace trailkeep
