#include "server/pipeline/host_binding_stage.h"

#include <gtest/gtest.h>

#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

v1::Peer MakePeer(bool authenticated, const std::string& bound_host = "") {
  v1::Peer p;
  p.set_address("192.0.2.9:5000");
  p.set_listener("127.0.0.1:6514");
  p.set_authenticated(authenticated);
  if (authenticated) p.add_cert_dns_names("relay.test");
  p.set_bound_host(bound_host);
  return p;
}

HostVerdict Bind(FrameFormat format, const v1::Peer& peer, std::string_view hostname) {
  return HostBindingStage().Bind({format, peer, peer.listener(), hostname});
}

TEST(HostBindingStageTest, LegacySenderIsFiledUnderItsClaimElseCertificateElseAddress) {
  const v1::Peer with_cert = MakePeer(true);
  EXPECT_EQ(Bind(FrameFormat::kSyslog, with_cert, "web-1").host, "web-1");
  EXPECT_EQ(Bind(FrameFormat::kSyslog, with_cert, "").host, "relay.test");
  const HostVerdict anonymous = Bind(FrameFormat::kSyslog, MakePeer(false), "");
  EXPECT_EQ(anonymous.host, "192.0.2.9");
  EXPECT_EQ(anonymous.refused, "");
  EXPECT_TRUE(anonymous.hostname_mismatch);  // no certificate: always marked
  EXPECT_EQ(anonymous.sender_identity, "unauthenticated");
}

TEST(HostBindingStageTest, LegacyMismatchIsMarkedOrDroppedByTheListenersPolicy) {
  const v1::Peer relay = MakePeer(true);  // its certificate names relay.test
  const HostVerdict flagged = Bind(FrameFormat::kSyslog, relay, "web-1");  // default: flag
  EXPECT_EQ(flagged.host, "web-1");
  EXPECT_TRUE(flagged.hostname_mismatch);
  EXPECT_EQ(flagged.sender_identity, "relay.test");
  EXPECT_EQ(flagged.dropped, "");
  const HostVerdict own = Bind(FrameFormat::kSyslog, relay, "");
  EXPECT_FALSE(own.hostname_mismatch);
  EXPECT_EQ(own.sender_identity, "");

  HostBindingStage refusing;
  LegacyHostConfig config;
  config.listeners.push_back({"127.0.0.1:6514", HostnameBinding::kRefuse});
  config.allowed_hosts.push_back({"relay.test", {"db-*"}});
  refusing.SetLegacyRules(LegacyHostRules(config));
  const HostVerdict dropped =
      refusing.Bind({FrameFormat::kSyslog, relay, relay.listener(), "web-1"});
  EXPECT_NE(dropped.dropped, "");
  EXPECT_EQ(dropped.refused, "");  // the connection goes on
  const HostVerdict allowed =
      refusing.Bind({FrameFormat::kSyslog, relay, relay.listener(), "db-7"});
  EXPECT_EQ(allowed.dropped, "");
  EXPECT_FALSE(allowed.hostname_mismatch);
  EXPECT_EQ(allowed.host, "db-7");
}

TEST(HostBindingStageTest, AgentsAreBoundWhateverTheListenersPolicy) {
  HostBindingStage stage;
  LegacyHostConfig config;
  config.listeners.push_back({"127.0.0.1:6514", HostnameBinding::kOff});
  stage.SetLegacyRules(LegacyHostRules(config));
  const v1::Peer agent = MakePeer(true, "web01");
  EXPECT_NE(stage.Bind({FrameFormat::kSyslog, agent, agent.listener(), "db01"}).refused, "");
  const HostVerdict ok = stage.Bind({FrameFormat::kSyslog, agent, agent.listener(), "web01"});
  EXPECT_EQ(ok.host, "web01");
  EXPECT_FALSE(ok.hostname_mismatch);
}

TEST(HostBindingStageTest, PlaintextSenderIsFiledUnderItsAddressMapping) {
  HostBindingStage stage;
  PlainSourceConfig plain;
  plain.hosts.push_back({"192.0.2.0/24", "lab-gear"});
  auto hosts = PlainSourceHosts::Make(plain);
  ASSERT_TRUE(hosts.ok());
  stage.SetPlainHosts(std::move(hosts).value());
  v1::Peer udp = MakePeer(false);
  udp.set_transport(v1::TRANSPORT_UDP_SYSLOG);
  const HostVerdict v = stage.Bind({FrameFormat::kSyslog, udp, udp.listener(), "web-1"});
  EXPECT_EQ(v.host, "lab-gear");
  EXPECT_FALSE(v.hostname_mismatch);  // plaintext: its transport says unauthenticated
}

TEST(HostBindingStageTest, BoundAgentMustClaimItsOwnHost) {
  const v1::Peer agent = MakePeer(true, "web01");
  const HostVerdict ok = Bind(FrameFormat::kSyslog, agent, "web01");
  EXPECT_EQ(ok.host, "web01");
  EXPECT_EQ(ok.refused, "");

  const HostVerdict other = Bind(FrameFormat::kSyslog, agent, "db01");
  EXPECT_EQ(other.host, "");
  EXPECT_EQ(other.refused,
            "HOSTNAME \"db01\" does not match the host \"web01\" of the agent's certificate; "
            "connection refused");
  // NIL is no claim of its own host either.
  EXPECT_NE(Bind(FrameFormat::kSyslog, agent, "").refused, "");
}

TEST(HostBindingStageTest, Port60RecordIsFiledUnderItsChannel) {
  // A tunnel's node, whatever the record says.
  EXPECT_EQ(Bind(FrameFormat::kAuditRecord, MakePeer(false, "node-a"), "").host, "node-a");
  const HostVerdict direct = Bind(FrameFormat::kAuditRecord, MakePeer(false), "");
  EXPECT_EQ(direct.host, "192.0.2.9");
  EXPECT_EQ(direct.refused, "");
}

}  // namespace
}  // namespace trailkeep
