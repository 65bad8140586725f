// ReloadReport: one CONFIG_RELOADED event per SIGHUP, naming what changed and
// what was refused, with each part's fields after the common ones.
#include "server/app/reload_report.h"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "server/selfaudit/self_audit.h"

namespace trailkeep {
namespace {

struct Recorded {
  SelfEventKind kind;
  std::string message;
  std::vector<std::pair<std::string, std::string>> fields;
};

class RecordingAudit final : public SelfAudit {
 public:
  void Record(SelfEventKind kind, const std::string&, const std::string& message,
              const std::vector<std::pair<std::string, std::string>>& fields) override {
    events.push_back({kind, message, fields});
  }
  std::vector<Recorded> events;
};

TEST(ReloadReportTest, NamesWhatChangedWithThePartsFields) {
  ReloadReport report;
  report.changed = {"tls.cert_file", "tls.key_file"};
  report.fields = {{"cert_sha256", "sha-256:AB"}, {"peers_closed", "0"}};
  RecordingAudit audit;
  report.Record(&audit);
  ASSERT_EQ(audit.events.size(), 1u);
  const Recorded& e = audit.events[0];
  EXPECT_EQ(e.kind, SelfEventKind::kConfigReloaded);
  EXPECT_STREQ(SelfEventMsgId(e.kind), "CONFIG_RELOADED");
  EXPECT_EQ(e.message, "configuration reloaded; changed: tls.cert_file, tls.key_file");
  const std::vector<std::pair<std::string, std::string>> want = {
      {"changed", "tls.cert_file,tls.key_file"},
      {"refused", ""},
      {"cert_sha256", "sha-256:AB"},
      {"peers_closed", "0"}};
  EXPECT_EQ(e.fields, want);
}

TEST(ReloadReportTest, NothingChangedAndARefusalAreSaid) {
  ReloadReport report;
  report.refused = {"tls"};
  RecordingAudit audit;
  report.Record(&audit);
  ASSERT_EQ(audit.events.size(), 1u);
  EXPECT_EQ(audit.events[0].message,
            "configuration reloaded; nothing changed; refused, previous kept: tls");
  EXPECT_EQ(audit.events[0].fields[1], (std::pair<std::string, std::string>{"refused", "tls"}));
}

}  // namespace
}  // namespace trailkeep
