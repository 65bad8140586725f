#include "server/pipeline/ingest_pipeline.h"

#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "server/pipeline/agent_registry.h"
#include "server/pipeline/classify_stage.h"
#include "server/pipeline/rules_holder.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

class RecordingReporter : public ConnectionReporter {
 public:
  void ReportConnectionEvent(ConnectionEventKind kind, const v1::Peer& peer,
                             const std::string& reason,
                             const ConnectionFields& fields = {}) override {
    records.push_back({kind, peer.address() + " " + reason});
    last_fields = fields;
  }
  ConnectionFields last_fields;
  std::vector<std::pair<ConnectionEventKind, std::string>> records;
};

std::shared_ptr<v1::Peer> MakePeer(bool authenticated) {
  auto p = std::make_shared<v1::Peer>();
  p->set_address("192.0.2.9:5000");
  p->set_authenticated(authenticated);
  if (authenticated) p->add_cert_dns_names("relay.test");
  return p;
}

// The committer's side: keeps what is offered, and the on_durable callbacks.
struct Offered {
  std::vector<v1::Event> events;
  std::vector<std::function<void()>> on_durable;
  IngestPipeline::OfferFn Fn() {
    return [this](std::vector<v1::Event>* e, std::function<void()> done) {
      for (auto& x : *e) events.push_back(x);
      e->clear();
      on_durable.push_back(std::move(done));
      return true;
    };
  }
};

TEST(IngestPipelineTest, ParsesKeepsRawAndChoosesHost) {
  Offered offered;
  RecordingReporter reports;
  IngestPipeline pipeline(offered.Fn(), &reports);
  auto peer = MakePeer(true);
  IngestBatch batch{FrameFormat::kSyslog,
                    {{"<13>1 2026-11-23T05:08:34Z web-1 app - - - hi", 1, peer},
                     {"<13>1 2026-11-23T05:08:34Z - app - - - nil host", 2, peer},
                     {std::string("\xff\x00garbage", 9), 3, MakePeer(false)}}};
  ASSERT_TRUE(pipeline.Offer(&batch, nullptr));
  EXPECT_TRUE(batch.frames.empty());
  ASSERT_EQ(offered.events.size(), 3u);
  EXPECT_EQ(offered.events[0].host(), "web-1");
  EXPECT_EQ(offered.events[0].raw(), "<13>1 2026-11-23T05:08:34Z web-1 app - - - hi");
  EXPECT_EQ(offered.events[1].host(), "relay.test");  // NIL HOSTNAME: the certificate's name
  EXPECT_EQ(offered.events[2].host(), "192.0.2.9");   // nothing better: the peer address
  EXPECT_EQ(offered.events[2].raw(), std::string("\xff\x00garbage", 9));
  EXPECT_EQ(offered.events[2].integrity(), v1::INTEGRITY_UNSIGNED);
  EXPECT_EQ(pipeline.events_parsed(), 3u);
  EXPECT_EQ(pipeline.parse_fallbacks(), 1u);
}

// Both counts reach /metrics through the counters registry, and leave it
// with the pipeline.
TEST(IngestPipelineTest, CountersAreRegistered) {
  Offered offered;
  RecordingReporter reports;
  CounterRegistry metrics;
  auto value_of = [&metrics](const std::string& name) -> std::optional<double> {
    auto collected = metrics.Collect();
    EXPECT_TRUE(collected.ok());
    for (const Metric& m : collected.value()) {
      if (m.name == name) return m.value;
    }
    return std::nullopt;
  };
  {
    IngestPipeline pipeline(offered.Fn(), &reports);
    pipeline.RegisterCounters(metrics);
    EXPECT_EQ(value_of("events_parsed_total"), 0.0);
    IngestBatch batch{FrameFormat::kSyslog,
                      {{"<13>1 - h a - - - one", 1, MakePeer(false)},
                       {std::string("\xff\x00garbage", 9), 2, MakePeer(false)}}};
    ASSERT_TRUE(pipeline.Offer(&batch, nullptr));
    EXPECT_EQ(value_of("events_parsed_total"), 2.0);
    EXPECT_EQ(value_of("parse_fallbacks_total"), 1.0);
  }
  EXPECT_FALSE(value_of("events_parsed_total").has_value());
}

TEST(IngestPipelineTest, FullSinkGivesFramesBackUntouched) {
  RecordingReporter reports;
  IngestPipeline pipeline([](std::vector<v1::Event>*, std::function<void()>) { return false; },
                          &reports);
  IngestBatch batch{FrameFormat::kSyslog, {{"<13>1 - h a - - - one", 1, MakePeer(false)}}};
  EXPECT_FALSE(pipeline.Offer(&batch, nullptr));
  ASSERT_EQ(batch.frames.size(), 1u);
  EXPECT_EQ(batch.frames[0].bytes, "<13>1 - h a - - - one");
}

// Port-60 records enter through the same Offer, their on_durable handed on:
// filed under the channel's host (the tunnel's node), never a node= of the
// text, members of a group to come and so not classified one by one.
TEST(IngestPipelineTest, AuditRecordsPassTheSameStagesWithTheirOnDurable) {
  Offered offered;
  RecordingReporter reports;
  RulesHolder rules;
  auto loaded = ndcpp::RuleSet::LoadString(
      "[[rule]]\nname = \"any\"\napp = [\"auditd\"]\nmsg = 'type='\nrefs = "
      "[\"FAU_GEN.1\"]\ndescription = \"audit\"\n",
      "test");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  rules.Set(std::move(loaded).value());
  const ClassifyStage classify(&rules);
  IngestPipeline pipeline(offered.Fn(), &reports, nullptr, &classify);
  auto peer = MakePeer(false);
  peer->set_bound_host("node-a");
  IngestBatch batch{FrameFormat::kAuditRecord,
                    {{"node=other type=EOE msg=audit(1700000000.100:7): \n", 5, peer},
                     {"type= not a record", 6, peer}}};
  bool durable = false;
  ASSERT_TRUE(pipeline.Offer(&batch, [&durable] { durable = true; }));
  ASSERT_EQ(offered.events.size(), 2u);
  EXPECT_EQ(offered.events[0].host(), "node-a");
  EXPECT_EQ(offered.events[0].transport(), v1::TRANSPORT_AUDIT_PORT60);
  EXPECT_TRUE(offered.events[0].audit_member());
  EXPECT_EQ(offered.events[0].ndcpp_refs_size(), 0);     // its group is classified
  EXPECT_EQ(offered.events[0].enterprise_number(), 0u);  // no chain element read
  EXPECT_FALSE(offered.events[1].audit_member());
  EXPECT_EQ(offered.events[1].ndcpp_refs_size(), 1);  // not a record: classified as it is
  ASSERT_EQ(offered.on_durable.size(), 1u);
  ASSERT_TRUE(offered.on_durable[0]);
  offered.on_durable[0]();
  EXPECT_TRUE(durable);
}

class ClosingLink final : public AgentLink {
 public:
  void SendResume(uint64_t, uint64_t, const std::string&) override {}
  void SendAck(uint64_t, uint64_t) override {}
  void Close(const std::string& reason) override { closed = reason; }
  std::string closed;
};

// A bound agent's frame naming another host refuses the connection: it and
// the frames after it are dropped, the refusal is recorded and the agent's
// connection closed; the frames before it are stored.
TEST(IngestPipelineTest, AgentClaimingAnotherHostIsRefusedFromThatFrameOn) {
  Offered offered;
  RecordingReporter reports;
  AgentRegistry registry;
  auto link = std::make_shared<ClosingLink>();
  registry.Register("web01", link);
  IngestPipeline pipeline(offered.Fn(), &reports);
  AgentIngestOptions agents;
  agents.registry = &registry;
  pipeline.EnableAgents(agents);
  auto peer = MakePeer(true);
  peer->set_bound_host("web01");
  IngestBatch batch{FrameFormat::kSyslog,
                    {{"<13>1 2026-11-23T05:08:34Z web01 app - - - mine", 1, peer},
                     {"<13>1 2026-11-23T05:08:34Z db01 app - - - not mine", 2, peer},
                     {"<13>1 2026-11-23T05:08:34Z web01 app - - - after", 3, peer}}};
  ASSERT_TRUE(pipeline.Offer(&batch, nullptr));
  EXPECT_TRUE(batch.frames.empty());
  ASSERT_EQ(offered.events.size(), 1u);
  EXPECT_EQ(offered.events[0].host(), "web01");
  ASSERT_EQ(reports.records.size(), 1u);
  EXPECT_EQ(reports.records[0].first, ConnectionEventKind::kAgentRefused);
  const std::string why =
      "HOSTNAME \"db01\" does not match the host \"web01\" of the agent's certificate; "
      "connection refused";
  EXPECT_EQ(reports.records[0].second, "192.0.2.9:5000 " + why);
  EXPECT_EQ(link->closed, why);
}

// hostname_binding = "refuse": a legacy sender's event for a host its
// certificate does not speak for is dropped and recorded; the connection's
// other frames are stored, and a full sink gives back only those.
TEST(IngestPipelineTest, RefusedHostnameDropsThatEventAloneAndRecordsIt) {
  Offered offered;
  RecordingReporter reports;
  IngestPipeline pipeline(offered.Fn(), &reports);
  LegacyHostConfig config;
  config.binding = HostnameBinding::kRefuse;
  pipeline.SetLegacyHostRules(LegacyHostRules(config));
  auto peer = MakePeer(true);  // relay.test
  IngestBatch batch{FrameFormat::kSyslog,
                    {{"<13>1 2026-11-23T05:08:34Z relay.test app - - - mine", 1, peer},
                     {"<13>1 2026-11-23T05:08:34Z db01 app - - - not mine", 2, peer},
                     {"<13>1 2026-11-23T05:08:34Z - app - - - after", 3, peer}}};
  ASSERT_TRUE(pipeline.Offer(&batch, nullptr));
  ASSERT_EQ(offered.events.size(), 2u);
  EXPECT_EQ(offered.events[0].msg(), "mine");
  EXPECT_EQ(offered.events[1].msg(), "after");
  EXPECT_FALSE(offered.events[1].hostname_mismatch());
  ASSERT_EQ(reports.records.size(), 1u);
  EXPECT_EQ(reports.records[0].first, ConnectionEventKind::kHostnameRefused);
  EXPECT_NE(reports.records[0].second.find("\"db01\""), std::string::npos);
  EXPECT_EQ(reports.last_fields,
            (ConnectionFields{{"hostname", "db01"}, {"sender_identity", "relay.test"}}));
  EXPECT_EQ(pipeline.hostnames_refused(), 1u);
  EXPECT_EQ(pipeline.hostname_mismatches(), 0u);

  IngestPipeline full([](std::vector<v1::Event>*, std::function<void()>) { return false; },
                      &reports);
  full.SetLegacyHostRules(LegacyHostRules(config));
  IngestBatch held{FrameFormat::kSyslog,
                   {{"<13>1 - db01 app - - - dropped", 1, peer},
                    {"<13>1 - relay.test app - - - kept", 2, peer}}};
  EXPECT_FALSE(full.Offer(&held, nullptr));
  // Nothing taken, nothing recorded: the same frames come again.
  ASSERT_EQ(held.frames.size(), 2u);
  EXPECT_EQ(held.frames[0].bytes, "<13>1 - db01 app - - - dropped");
  EXPECT_EQ(held.frames[1].bytes, "<13>1 - relay.test app - - - kept");
  EXPECT_EQ(reports.records.size(), 1u);
  EXPECT_EQ(full.hostnames_refused(), 0u);
}

TEST(IngestPipelineTest, FlaggedHostnameIsStoredWithTheSendersIdentity) {
  Offered offered;
  RecordingReporter reports;
  IngestPipeline pipeline(offered.Fn(), &reports);  // default: flag
  IngestBatch batch{FrameFormat::kSyslog,
                    {{"<13>1 2026-11-23T05:08:34Z db01 app - - - claimed", 1, MakePeer(true)}}};
  ASSERT_TRUE(pipeline.Offer(&batch, nullptr));
  ASSERT_EQ(offered.events.size(), 1u);
  EXPECT_EQ(offered.events[0].host(), "db01");
  EXPECT_TRUE(offered.events[0].hostname_mismatch());
  EXPECT_EQ(offered.events[0].sender_identity(), "relay.test");
  EXPECT_TRUE(reports.records.empty());
  EXPECT_EQ(pipeline.hostname_mismatches(), 1u);
}

}  // namespace
}  // namespace trailkeep
