// The plaintext listeners over real loopback sockets: RFC 6587 framing per
// frame on TCP, one message per datagram on UDP, the peer they mark, the
// per-source rate limit (UDP drops and counts, TCP waits and loses nothing),
// oversize datagrams, and a full sink holding frames instead of losing them.
#include "server/net/plain_syslog_listener.h"

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/wire/octet_framer.h"
#include "server/net/ingest.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

class RecordingSink final : public IngestSink, public ConnectionReporter {
 public:
  bool Offer(IngestBatch* batch, std::function<void()>) override {
    std::lock_guard lock(mu);
    if (refuse > 0) {
      --refuse;
      return false;
    }
    EXPECT_EQ(batch->format, FrameFormat::kSyslog);
    for (auto& f : batch->frames) got.push_back(std::move(f));
    batch->frames.clear();
    return true;
  }
  void ReportConnectionEvent(ConnectionEventKind kind, const v1::Peer&, const std::string& reason,
                             const ConnectionFields& = {}) override {
    std::lock_guard lock(mu);
    events.emplace_back(kind, reason);
  }

  size_t size() {
    std::lock_guard lock(mu);
    return got.size();
  }
  std::mutex mu;
  int refuse = 0;  // Offer refuses this many times first (a full commit queue)
  std::vector<RawFrame> got;
  std::vector<std::pair<ConnectionEventKind, std::string>> events;
};

int Port(const std::string& address) { return std::stoi(address.substr(address.rfind(':') + 1)); }

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

class PlainSyslogListenerTest : public ::testing::Test {
 protected:
  void Start(PlainSyslogOptions o) {
    o.udp_addresses = {"127.0.0.1:0"};
    o.tcp_addresses = {"127.0.0.1:0"};
    listener_ = std::make_unique<PlainSyslogListener>(io_, o, IngestPorts{&sink_, &sink_, nullptr},
                                                      metrics_);
  }
  void TearDown() override {
    if (listener_) listener_->Stop();
    io_.run_for(std::chrono::milliseconds(50));
  }
  // Runs the io_context until `done` or `ms` pass.
  bool RunUntil(const std::function<bool()>& done, int ms = 3000) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!done() && std::chrono::steady_clock::now() < until) {
      io_.run_for(std::chrono::milliseconds(10));
    }
    return done();
  }
  void SendTcp(const std::string& bytes) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in a = Loopback(Port(listener_->BoundTcp()[0]));
    ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  }
  void SendUdp(const std::string& datagram) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    const sockaddr_in a = Loopback(Port(listener_->BoundUdp()[0]));
    ::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&a),
             sizeof a);
    ::close(fd);
  }
  std::vector<std::string> Frames() {
    std::lock_guard lock(sink_.mu);
    std::vector<std::string> out;
    for (const auto& f : sink_.got) out.push_back(f.bytes);
    return out;
  }

  boost::asio::io_context io_;
  CounterRegistry metrics_;
  RecordingSink sink_;
  std::unique_ptr<PlainSyslogListener> listener_;
};

TEST_F(PlainSyslogListenerTest, TcpFramingIsDecidedPerFrame) {
  Start({});
  // An LF line, an octet-counted frame holding an LF, a line starting with
  // digits (an ISO timestamp, not a count), and a CRLF line.
  SendTcp("<13>one line\n" + OctetCounted("<13>counted\nwith LF") +
          "2026-12-05T10:00:00Z iso line\n<13>crlf line\r\n");
  ASSERT_TRUE(RunUntil([&] { return sink_.size() >= 4; }));
  EXPECT_EQ(Frames(), (std::vector<std::string>{"<13>one line", "<13>counted\nwith LF",
                                                "2026-12-05T10:00:00Z iso line", "<13>crlf line"}));
  const v1::Peer& peer = *sink_.got[0].peer;
  EXPECT_EQ(peer.transport(), v1::TRANSPORT_TCP_SYSLOG);
  EXPECT_FALSE(peer.authenticated());
  EXPECT_EQ(peer.address().rfind("127.0.0.1:", 0), 0u) << peer.address();
  EXPECT_EQ(peer.listener(), listener_->BoundTcp()[0]);
  EXPECT_EQ(listener_->counters().tcp_frames.load(), 4u);
}

TEST_F(PlainSyslogListenerTest, AHalfFrameAtCloseAndABadCountAreReported) {
  Start({});
  SendTcp("<13>whole\n<13>half a fra");
  ASSERT_TRUE(RunUntil([&] { return sink_.size() >= 1 && !sink_.events.empty(); }));
  EXPECT_EQ(sink_.events[0].first, ConnectionEventKind::kTruncatedFrame);
  SendTcp("<13>before\n0999 leading zero\n<13>never read\n");
  ASSERT_TRUE(RunUntil([&] { return sink_.events.size() >= 2; }));
  EXPECT_EQ(sink_.events[1].first, ConnectionEventKind::kFramingError);
  RunUntil([] { return false; }, 100);
  EXPECT_EQ(Frames(), (std::vector<std::string>{"<13>whole", "<13>before"}));
  EXPECT_EQ(listener_->counters().tcp_framing_errors.load(), 1u);
}

TEST_F(PlainSyslogListenerTest, UdpIsOneMessagePerDatagramAndOversizeIsDropped) {
  PlainSyslogOptions o;
  o.max_frame_bytes = 480;
  Start(o);
  SendUdp("<13>1 - gear app - - - a datagram\n");
  SendUdp("12 <13>not a count\nand a second line");
  SendUdp("<13>" + std::string(600, 'x'));
  ASSERT_TRUE(RunUntil([&] { return listener_->counters().udp_datagrams.load() >= 3; }));
  RunUntil([] { return false; }, 50);
  EXPECT_EQ(Frames(), (std::vector<std::string>{"<13>1 - gear app - - - a datagram\n",
                                                "12 <13>not a count\nand a second line"}));
  EXPECT_EQ(sink_.got[0].peer->transport(), v1::TRANSPORT_UDP_SYSLOG);
  EXPECT_EQ(listener_->counters().udp_oversize.load(), 1u);
}

TEST_F(PlainSyslogListenerTest, RateLimitDropsUdpButOnlySlowsTcp) {
  PlainSyslogOptions o;
  o.rate_per_source = 20;
  o.burst_per_source = 10;
  Start(o);
  for (int i = 0; i < 30; ++i) SendUdp("<13>udp " + std::to_string(i));
  ASSERT_TRUE(RunUntil([&] { return listener_->counters().udp_datagrams.load() >= 30; }));
  EXPECT_LE(sink_.size(), 12u);  // the burst, and what 20/s refilled meanwhile
  EXPECT_EQ(listener_->counters().udp_rate_limited.load() + sink_.size(), 30u);
  // The same address over TCP: its bucket is empty, so the session waits; nothing is lost.
  const size_t udp_stored = sink_.size();
  std::string frames;
  for (int i = 0; i < 20; ++i) frames += "<13>tcp " + std::to_string(i) + "\n";
  SendTcp(frames);
  ASSERT_TRUE(RunUntil([&] { return sink_.size() >= udp_stored + 20; }, 5000));
  EXPECT_GT(listener_->counters().tcp_rate_limited.load(), 0u);
  EXPECT_EQ(Frames().back(), "<13>tcp 19");
}

TEST_F(PlainSyslogListenerTest, AFullSinkHoldsFramesInsteadOfLosingThem) {
  Start({});
  sink_.refuse = 20;
  for (int i = 0; i < 5; ++i) SendUdp("<13>held " + std::to_string(i));
  SendTcp("<13>held tcp\n");
  ASSERT_TRUE(RunUntil([&] { return sink_.size() >= 6; }));
  EXPECT_EQ(listener_->counters().frames_held.load(), 0u);
}

}  // namespace
}  // namespace trailkeep
