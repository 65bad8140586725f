#include "server/pipeline/ingest_pipeline.h"

#include <gtest/gtest.h>

#include "server/selfaudit/self_audit.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

class RecordingAudit : public SelfAudit {
 public:
  void Record(SelfEventKind kind, const std::string& peer, const std::string& message,
              const std::vector<std::pair<std::string, std::string>>&) override {
    records.push_back({kind, peer + " " + message});
  }
  std::vector<std::pair<SelfEventKind, std::string>> records;
};

std::shared_ptr<v1::Peer> MakePeer(bool authenticated) {
  auto p = std::make_shared<v1::Peer>();
  p->set_address("192.0.2.9:5000");
  p->set_authenticated(authenticated);
  if (authenticated) p->add_cert_dns_names("relay.test");
  return p;
}

TEST(IngestPipelineTest, ParsesKeepsRawAndChoosesHost) {
  std::vector<v1::Event> offered;
  RecordingAudit audit;
  IngestPipeline pipeline(
      [&](std::vector<v1::Event>* e) {
        for (auto& x : *e) offered.push_back(x);
        e->clear();
        return true;
      },
      &audit);
  auto peer = MakePeer(true);
  std::vector<RawFrame> frames = {{"<13>1 2026-11-23T05:08:34Z web-1 app - - - hi", 1, peer},
                                  {"<13>1 2026-11-23T05:08:34Z - app - - - nil host", 2, peer},
                                  {std::string("\xff\x00garbage", 9), 3, MakePeer(false)}};
  ASSERT_TRUE(pipeline.Offer(&frames));
  EXPECT_TRUE(frames.empty());
  ASSERT_EQ(offered.size(), 3u);
  EXPECT_EQ(offered[0].host(), "web-1");
  EXPECT_EQ(offered[0].raw(), "<13>1 2026-11-23T05:08:34Z web-1 app - - - hi");
  EXPECT_EQ(offered[1].host(), "relay.test");  // NIL HOSTNAME: the certificate's name
  EXPECT_EQ(offered[2].host(), "192.0.2.9");   // nothing better: the peer address
  EXPECT_EQ(offered[2].raw(), std::string("\xff\x00garbage", 9));
  EXPECT_EQ(offered[2].integrity(), v1::INTEGRITY_UNSIGNED);
}

TEST(IngestPipelineTest, FullSinkGivesFramesBackUntouched) {
  RecordingAudit audit;
  IngestPipeline pipeline([](std::vector<v1::Event>*) { return false; }, &audit);
  std::vector<RawFrame> frames = {{"<13>1 - h a - - - one", 1, MakePeer(false)}};
  EXPECT_FALSE(pipeline.Offer(&frames));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].bytes, "<13>1 - h a - - - one");
}

TEST(IngestPipelineTest, ConnectionEventsGoToSelfAudit) {
  RecordingAudit audit;
  IngestPipeline pipeline([](std::vector<v1::Event>*) { return true; }, &audit);
  v1::Peer p;
  p.set_address("198.51.100.1:443");
  pipeline.ReportConnectionEvent(ConnectionEventKind::kTlsHandshakeFailed, p,
                                 "certificate expired");
  ASSERT_EQ(audit.records.size(), 1u);
  EXPECT_EQ(audit.records[0].first, SelfEventKind::kTlsHandshakeFailed);
  EXPECT_EQ(audit.records[0].second, "198.51.100.1:443 certificate expired");
}

}  // namespace
}  // namespace trailkeep
