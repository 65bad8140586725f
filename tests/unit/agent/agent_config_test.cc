// The agent's configuration file: defaults, every key, errors with file:line.

#include "agent/agent_config.h"

#include <string>

#include <gtest/gtest.h>

namespace trailkeep::agent {
namespace {

constexpr char kMinimal[] = R"(
[agent]
host = "web01.example.net"
spool_dir = "/var/lib/trailkeep/spool"
hmac_key_file = "/etc/trailkeep/hmac.key"
[collector]
address = "collector.example.net:6514"
ca_file = "/etc/trailkeep/ca.pem"
cert_file = "/etc/trailkeep/agent.pem"
key_file = "/etc/trailkeep/agent.key"
[[input]]
name = "secure"
path = "/var/log/secure"
)";

TEST(AgentConfigTest, DefaultsAndValues) {
  auto c = ParseAgentConfig(kMinimal, "/etc/trailkeep/agent.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->host, "web01.example.net");
  EXPECT_EQ(c->spool_max_bytes, uint64_t{1} << 30);
  EXPECT_EQ(c->segment_bytes, uint64_t{16} << 20);
  EXPECT_EQ(c->enterprise_number, 32473u);
  EXPECT_EQ(c->heartbeat_interval_ms, 10000);
  EXPECT_EQ(c->collector.host, "collector.example.net");
  EXPECT_EQ(c->collector.port, "6514");
  EXPECT_EQ(c->collector.server_name, "collector.example.net");
  EXPECT_EQ(c->collector.acks, AckMode::kRequired);
  EXPECT_EQ(c->collector.tls_profile, TlsProfile::kNdcpp);
  ASSERT_EQ(c->inputs.size(), 1u);
  EXPECT_TRUE(c->inputs[0].start_at_end);
  EXPECT_EQ(c->inputs[0].kind, InputKind::kSyslog);
  EXPECT_EQ(c->identity_files[0], "/etc/passwd");
}

TEST(AgentConfigTest, EveryKey) {
  const std::string text = R"(
[agent]
host = "h1"
spool_dir = "spool"
spool_max_bytes = 2097152
segment_bytes = 65536
enterprise_number = 99
heartbeat_interval_ms = 500
poll_interval_ms = 50
hmac_key_file = "hmac.key"
identity_files = ["p", "g"]
[collector]
address = "[::1]:7000"
server_name = "collector"
pinned_sha256 = "sha-256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"
cert_file = "a.pem"
key_file = "a.key"
acks = "none"
reconnect_min_ms = 100
reconnect_max_ms = 1000
tls_profile = "modern"
[[input]]
name = "audit"
path = "/var/log/audit/audit.log"
start = "beginning"
kind = "audit"
[[input]]
name = "nginx"
path = "/var/log/nginx/*error.log"
facility = "local1"
severity = "err"
[audisp]
socket = "/run/trailkeep/audisp.sock"
)";
  auto c = ParseAgentConfig(text, "/cfg/agent.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->spool_dir, "/cfg/spool");
  EXPECT_EQ(c->identity_files[1], "/cfg/g");
  EXPECT_EQ(c->collector.host, "::1");
  EXPECT_EQ(c->collector.pinned_sha256.size(), 32u);
  EXPECT_EQ(c->collector.acks, AckMode::kNone);
  EXPECT_EQ(c->collector.tls_profile, TlsProfile::kModern);
  EXPECT_EQ(c->inputs[0].kind, InputKind::kAudit);
  EXPECT_FALSE(c->inputs[0].start_at_end);
  EXPECT_EQ(c->inputs[0].facility, 10);
  EXPECT_EQ(c->inputs[1].facility, 17);
  EXPECT_EQ(c->inputs[1].severity, 3);
  EXPECT_EQ(c->audisp.socket, "/run/trailkeep/audisp.sock");
}

TEST(AgentConfigTest, ErrorsNameFileAndLine) {
  const std::string text = std::string(kMinimal) + "bogus = 1\nfacility = \"nope\"\n";
  auto c = ParseAgentConfig(text, "agent.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("agent.toml:14: unknown key input.bogus"), std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().message().find("agent.toml:15: input.facility must be one of"),
            std::string::npos)
      << c.status().message();
}

TEST(AgentConfigTest, TlsProfileIsNdcppOrModern) {
  std::string text = kMinimal;
  text.insert(text.find("[[input]]"), "tls_profile = \"fips\"\n");
  auto c = ParseAgentConfig(text, "agent.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(
                "agent.toml:11: collector.tls_profile must be \"ndcpp\" or \"modern\""),
            std::string::npos)
      << c.status().message();
}

TEST(AgentConfigTest, NeedsAWayToVerifyTheCollector) {
  std::string text = kMinimal;
  text.erase(text.find("ca_file"), text.find('\n', text.find("ca_file")) - text.find("ca_file"));
  auto c = ParseAgentConfig(text, "agent.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("ca_file or pinned_sha256"), std::string::npos);
}

TEST(AgentConfigTest, ShippedExampleLoads) {
  auto c = LoadAgentConfig(std::string(TRAILKEEP_SOURCE_DIR) + "/deploy/agent.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->inputs.size(), 1u);
}

}  // namespace
}  // namespace trailkeep::agent
