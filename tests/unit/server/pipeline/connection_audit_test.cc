#include "server/pipeline/connection_audit.h"

#include <gtest/gtest.h>

#include "server/selfaudit/self_audit.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

class RecordingAudit : public SelfAudit {
 public:
  void Record(SelfEventKind kind, const std::string& peer, const std::string& message,
              const std::vector<std::pair<std::string, std::string>>& fields) override {
    records.push_back({kind, peer + " " + message});
    last_fields = fields;
  }
  std::vector<std::pair<SelfEventKind, std::string>> records;
  std::vector<std::pair<std::string, std::string>> last_fields;
};

TEST(ConnectionAuditTest, ConnectionEventsGoToSelfAudit) {
  RecordingAudit audit;
  ConnectionAudit reports(&audit);
  v1::Peer p;
  p.set_address("198.51.100.1:443");
  reports.ReportConnectionEvent(ConnectionEventKind::kTlsHandshakeFailed, p, "certificate expired");
  ASSERT_EQ(audit.records.size(), 1u);
  EXPECT_EQ(audit.records[0].first, SelfEventKind::kTlsHandshakeFailed);
  EXPECT_EQ(audit.records[0].second, "198.51.100.1:443 certificate expired");
}

TEST(ConnectionAuditTest, KeepsWhatIsKnownOfThePeer) {
  RecordingAudit audit;
  ConnectionAudit reports(&audit);
  v1::Peer p;
  p.set_address("198.51.100.1:443");
  p.set_cert_subject("CN=web01");
  p.set_listener("127.0.0.1:6514");
  p.set_tunnel("node-a");
  reports.ReportConnectionEvent(ConnectionEventKind::kAgentRefused, p, "no");
  ASSERT_EQ(audit.records.size(), 1u);
  EXPECT_EQ(audit.records[0].first, SelfEventKind::kAgentRefused);
  const std::vector<std::pair<std::string, std::string>> expected = {{"reason", "no"},
                                                                     {"cert_subject", "CN=web01"},
                                                                     {"listener", "127.0.0.1:6514"},
                                                                     {"tunnel", "node-a"}};
  EXPECT_EQ(audit.last_fields, expected);
}

}  // namespace
}  // namespace trailkeep
