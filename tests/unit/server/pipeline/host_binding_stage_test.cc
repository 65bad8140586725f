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
