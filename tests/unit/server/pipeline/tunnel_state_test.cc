// HostState.tunnel as TunnelStateStage derives it from the events being
// committed (server/pipeline/tunnel_state.h): collector events built by the
// real SelfAudit, records as the port-60 listener makes them, and a real
// RocksDbStore in a temporary folder.
#include "server/pipeline/tunnel_state.h"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/pipeline/tunnel_state_stage.h"
#include "server/selfaudit/self_audit.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

// Collector events exactly as SshTunnel records them, at the time of `clock`.
class TunnelEvents {
 public:
  TunnelEvents()
      : audit_(
            SelfAuditOptions{"collector.test", 10, 1000, 32473},
            [this](std::vector<v1::Event>* out) {
              for (auto& e : *out) events_.push_back(e);
            },
            clock) {}

  v1::Event Make(SelfEventKind kind, const std::string& tunnel, const Fields& extra) {
    Fields fields = {{"tunnel", tunnel},
                     {"ssh_endpoint", "root@" + tunnel + ":22"},
                     {"remote_bind", "127.0.0.1:60"}};
    fields.insert(fields.end(), extra.begin(), extra.end());
    audit_.Record(kind, tunnel + ":22", "tunnel " + tunnel + " ...", fields);
    return events_.back();
  }

  const std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();

 private:
  std::vector<v1::Event> events_;
  RateLimitedSelfAudit audit_;
};

v1::Event ThroughTunnel(const std::string& node, int i) {
  v1::Event e;
  e.set_host(node);
  e.set_transport(v1::TRANSPORT_AUDIT_PORT60);
  e.set_receive_time_us(1'700'000'000'000'000 + i);
  e.mutable_peer()->set_address("127.0.0.1:40000");
  e.mutable_peer()->set_bound_host(node);
  e.set_raw("type=SYSCALL msg=audit(1700000000.000:" + std::to_string(i) + "): x=1");
  return e;
}

TEST(TunnelStateTest, OnlyTunnelEventsWithATunnelNameMoveAState) {
  TunnelEvents ev;
  EXPECT_EQ(TunnelEventNode(ev.Make(SelfEventKind::kTunnelInitiated, "db1", {})), "db1");
  EXPECT_EQ(TunnelEventNode(ev.Make(SelfEventKind::kSshSessionFailed, "db1", {})), "db1");
  EXPECT_EQ(TunnelEventNode(ev.Make(SelfEventKind::kTlsHandshakeFailed, "db1", {})), "");
  v1::Event forged = ThroughTunnel("db1", 1);  // a peer's event cannot move it
  forged.set_msgid("TUNNEL_INITIATED");
  EXPECT_EQ(TunnelEventNode(forged), "");
}

TEST(TunnelStateTest, UpThenLostThenFailingThenUpAgain) {
  TunnelEvents ev;
  v1::TunnelState t;
  const int64_t t0 = ev.clock->NowMicros();
  ApplyTunnelEvent(ev.Make(SelfEventKind::kTunnelInitiated, "db1", {{"state", "up"}}), &t);
  EXPECT_EQ(t.state(), v1::TunnelState::STATE_UP);
  EXPECT_EQ(t.since_us(), t0);
  EXPECT_EQ(t.sessions(), 1u);
  EXPECT_EQ(t.endpoint(), "root@db1:22");
  EXPECT_EQ(t.remote_bind(), "127.0.0.1:60");

  ev.clock->Advance(std::chrono::microseconds(5'000'000));
  ApplyTunnelEvent(ev.Make(SelfEventKind::kTunnelTerminated, "db1",
                           {{"state", "retrying"},
                            {"reason", "SSH session lost"},
                            {"consecutive_failures", "1"},
                            {"retry_in_ms", "250"}}),
                   &t);
  EXPECT_EQ(t.state(), v1::TunnelState::STATE_RETRYING);
  EXPECT_EQ(t.since_us(), t0 + 5'000'000);
  EXPECT_EQ(t.last_error(), "SSH session lost");
  EXPECT_EQ(t.last_error_us(), t0 + 5'000'000);
  EXPECT_EQ(t.next_attempt_us(), t0 + 5'250'000);
  EXPECT_EQ(t.consecutive_failures(), 1u);

  // Down since the loss, not since the latest failure.
  ev.clock->Advance(std::chrono::microseconds(1'000'000));
  ApplyTunnelEvent(ev.Make(SelfEventKind::kTunnelFailed, "db1",
                           {{"state", "retrying"},
                            {"reason", "cannot connect: Connection refused"},
                            {"consecutive_failures", "2"},
                            {"retry_in_ms", "400"}}),
                   &t);
  EXPECT_EQ(t.since_us(), t0 + 5'000'000);
  EXPECT_EQ(t.last_error(), "cannot connect: Connection refused");
  EXPECT_EQ(t.failures(), 2u);
  EXPECT_EQ(t.consecutive_failures(), 2u);

  ev.clock->Advance(std::chrono::microseconds(1'000'000));
  ApplyTunnelEvent(ev.Make(SelfEventKind::kTunnelInitiated, "db1", {{"state", "up"}}), &t);
  EXPECT_EQ(t.state(), v1::TunnelState::STATE_UP);
  EXPECT_EQ(t.since_us(), t0 + 7'000'000);
  EXPECT_EQ(t.sessions(), 2u);
  EXPECT_EQ(t.consecutive_failures(), 0u);
  EXPECT_EQ(t.next_attempt_us(), 0);
  EXPECT_EQ(t.last_error(), "cannot connect: Connection refused");  // kept, with its time

  ApplyTunnelEvent(ev.Make(SelfEventKind::kTunnelTerminated, "db1", {{"state", "stopped"}}), &t);
  EXPECT_EQ(t.state(), v1::TunnelState::STATE_STOPPED);
  EXPECT_EQ(t.failures(), 2u);  // a shutdown is no failure
}

TEST(TunnelStateTest, TunnelEventsAreNeverFoldedIntoSummaries) {
  // 30 tunnels come up at once with a burst of 2: each node's state needs
  // its own event (a summary names no tunnel).
  std::vector<v1::Event> out;
  RateLimitedSelfAudit audit(
      SelfAuditOptions{"collector.test", 10, 2, 32473},
      [&out](std::vector<v1::Event>* events) {
        for (auto& e : *events) out.push_back(e);
      },
      std::make_shared<ManualClock>());
  for (int i = 0; i < 30; ++i) {
    audit.Record(SelfEventKind::kTunnelInitiated, "", "up", {{"tunnel", "n" + std::to_string(i)}});
  }
  for (int i = 0; i < 5; ++i) audit.Record(SelfEventKind::kTlsHandshakeFailed, "", "flood");
  audit.Flush();
  int up = 0, tls = 0;
  for (const auto& e : out) {
    if (TunnelEventNode(e) == "n" + std::to_string(up)) ++up;
    if (e.msgid() == "TLS_HANDSHAKE_FAILED") ++tls;
  }
  EXPECT_EQ(up, 30);
  EXPECT_EQ(tls, 3);  // other kinds still are: 2 events and a summary
}

TEST(TunnelStateTest, OnlyRecordsFromTheTunnelChannelCount) {
  EXPECT_TRUE(ReceivedThroughTunnel(ThroughTunnel("db1", 1)));
  v1::Event direct = ThroughTunnel("db1", 2);  // a TCP peer, not a tunnel channel
  direct.mutable_peer()->clear_bound_host();
  direct.set_host("127.0.0.1");
  EXPECT_FALSE(ReceivedThroughTunnel(direct));
  v1::Event grouped = ThroughTunnel("db1", 3);  // made afterwards from stored records
  grouped.mutable_audit()->set_serial(3);
  EXPECT_FALSE(ReceivedThroughTunnel(grouped));
  v1::Event agent = ThroughTunnel("db1", 4);  // an agent on the TLS port
  agent.set_transport(v1::TRANSPORT_TLS_SYSLOG);
  EXPECT_FALSE(ReceivedThroughTunnel(agent));
  agent.mutable_peer()->set_tunnel("db1");  // the same agent through db1's tunnel
  EXPECT_TRUE(ReceivedThroughTunnel(agent));
}

TEST(TunnelStateTest, TheStoreKeepsItInTheNodesHostState) {
  char tmpl[] = "/tmp/tk-tunnel-state-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  {
    auto opened = OpenRocksDbStore(dir, StoreMode::kReadWrite);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    Store& store = *opened.value();
    TunnelStateStage stage(&store);
    // As the committer does: the stage judges the batch, the store writes both.
    const auto commit = [&](std::vector<v1::Event>* batch) {
      CommitExtras extras;
      stage.Prepare(batch, &extras);
      return store.Commit(batch, &extras);
    };
    TunnelEvents ev;
    // The tunnel comes up before its node sent anything: the node's
    // HostState exists from then on, with no events of its own.
    std::vector<v1::Event> batch = {
        ev.Make(SelfEventKind::kTunnelInitiated, "db1", {{"state", "up"}})};
    ASSERT_TRUE(commit(&batch).ok());
    auto hs = store.GetHostState("db1");
    ASSERT_TRUE(hs.ok() && hs->has_value());
    EXPECT_EQ(hs.value()->tunnel().state(), v1::TunnelState::STATE_UP);
    EXPECT_EQ(hs.value()->events(), 0u);
    // Records and the loss in one commit; the node sorts before the collector.
    batch = {ThroughTunnel("db1", 1), ThroughTunnel("db1", 2),
             ev.Make(SelfEventKind::kTunnelTerminated, "db1",
                     {{"state", "retrying"}, {"reason", "lost"}, {"retry_in_ms", "100"}}),
             ThroughTunnel("db1", 3)};
    ASSERT_TRUE(commit(&batch).ok());
    hs = store.GetHostState("db1");
    ASSERT_TRUE(hs.ok() && hs->has_value());
    EXPECT_EQ(hs.value()->events(), 3u);
    EXPECT_EQ(hs.value()->tunnel().events_received(), 3u);
    EXPECT_EQ(hs.value()->tunnel().state(), v1::TunnelState::STATE_RETRYING);
    EXPECT_EQ(hs.value()->tunnel().last_error(), "lost");
    auto collector = store.GetHostState("collector.test");
    ASSERT_TRUE(collector.ok() && collector->has_value());
    EXPECT_FALSE(collector.value()->has_tunnel());
  }
  // What the store tools read: the same state, from disk.
  auto reopened = OpenRocksDbStore(dir, StoreMode::kReadWrite);
  ASSERT_TRUE(reopened.ok());
  int seen = 0;
  ASSERT_TRUE(reopened.value()
                  ->ListHosts([&](const v1::HostState& h) {
                    if (h.name() != "db1") return;
                    ++seen;
                    EXPECT_EQ(h.tunnel().state(), v1::TunnelState::STATE_RETRYING);
                    EXPECT_EQ(h.tunnel().events_received(), 3u);
                    EXPECT_EQ(h.tunnel().sessions(), 1u);
                  })
                  .ok());
  EXPECT_EQ(seen, 1);
  reopened.value().reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace trailkeep
