#include "server/pipeline/agent_binding.h"

#include <gtest/gtest.h>

#include "server/pipeline/agent_registry.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

class RecordingReporter : public ConnectionReporter {
 public:
  void ReportConnectionEvent(ConnectionEventKind kind, const v1::Peer&, const std::string& reason,
                             const ConnectionFields& = {}) override {
    records.push_back({kind, reason});
  }
  std::vector<std::pair<ConnectionEventKind, std::string>> records;
};

class NullLink final : public AgentLink {
 public:
  void SendResume(uint64_t, uint64_t, const std::string&) override {}
  void SendAck(uint64_t, uint64_t) override {}
  void Close(const std::string&) override {}
};

v1::Peer Agent(const std::string& dns_name, const std::string& tunnel = "") {
  v1::Peer p;
  p.set_address("192.0.2.9:5000");
  p.set_authenticated(true);
  p.add_cert_dns_names(dns_name);
  p.set_tunnel(tunnel);
  return p;
}

TEST(AgentBindingTest, BindsTheCertificatesHostRegistersAndAsksForResume) {
  RecordingReporter reports;
  AgentRegistry registry;
  std::vector<std::string> resumes;
  AgentBinding binding(
      {&registry,
       {{"web01.example", "web01"}},
       [&](const std::string& host, std::weak_ptr<AgentLink>) { resumes.push_back(host); }},
      &reports);
  auto link = std::make_shared<NullLink>();
  std::string why;
  EXPECT_EQ(binding.BindAgent(Agent("web01.example"), link, &why), "web01");  // host_map
  EXPECT_EQ(registry.Find("web01"), link);
  EXPECT_EQ(resumes, std::vector<std::string>{"web01"});
  binding.UnbindAgent("web01", link.get());
  EXPECT_EQ(registry.Find("web01"), nullptr);
  EXPECT_TRUE(reports.records.empty());
}

TEST(AgentBindingTest, RefusesAndReports) {
  RecordingReporter reports;
  AgentBinding binding({}, &reports);
  auto link = std::make_shared<NullLink>();
  std::string why;
  v1::Peer anonymous;
  anonymous.set_address("192.0.2.9:5000");
  EXPECT_EQ(binding.BindAgent(anonymous, link, &why), "");
  EXPECT_EQ(why, "trailkeep/1 requires a verified client certificate");
  EXPECT_EQ(binding.BindAgent(Agent("db01", "web01"), link, &why), "");
  EXPECT_EQ(why, "the agent's certificate names host db01 but it came through the tunnel to web01");
  ASSERT_EQ(reports.records.size(), 2u);
  EXPECT_EQ(reports.records[1].first, ConnectionEventKind::kAgentRefused);
  EXPECT_EQ(binding.BindAgent(Agent("web01", "web01"), link, &why), "web01");
}

}  // namespace
}  // namespace trailkeep
