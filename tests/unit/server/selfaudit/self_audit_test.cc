#include "server/selfaudit/self_audit.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "common/base/time_format.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

struct Harness {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::vector<v1::Event> emitted;
  RateLimitedSelfAudit audit{SelfAuditOptions{"collector-1", 10, 3, 32473},
                             [this](std::vector<v1::Event>* e) {
                               for (auto& x : *e) emitted.push_back(x);
                             },
                             clock};
};

TEST(SelfAuditTest, RecordsAnEventWithStructuredDataAndRawRfc5424) {
  Harness h;
  h.audit.Record(SelfEventKind::kTlsHandshakeFailed, "192.0.2.7:41234", "certificate has expired",
                 {{"reason", "certificate has expired"}});
  ASSERT_EQ(h.emitted.size(), 1u);
  const v1::Event& e = h.emitted[0];
  EXPECT_EQ(e.host(), "collector-1");
  EXPECT_EQ(e.app_name(), "trailkeepd");
  EXPECT_EQ(e.msgid(), "TLS_HANDSHAKE_FAILED");
  EXPECT_EQ(e.transport(), v1::TRANSPORT_SELF);
  ASSERT_EQ(e.structured_data_size(), 1);
  EXPECT_EQ(e.structured_data(0).id(), "trailkeep@32473");
  EXPECT_EQ(e.structured_data(0).params(0).value(), "192.0.2.7:41234");
  EXPECT_EQ(e.raw().rfind("<108>1 ", 0), 0u);  // log audit (13) * 8 + warning (4)
  EXPECT_NE(e.raw().find("peer=\"192.0.2.7:41234\""), std::string::npos);
}

TEST(SelfAuditTest, FloodIsSummarisedPerWindow) {
  Harness h;
  for (int i = 0; i < 1000; ++i) {
    h.audit.Record(SelfEventKind::kTlsHandshakeFailed, "10.0.0.1:" + std::to_string(i), "garbage");
  }
  EXPECT_EQ(h.emitted.size(), 3u);  // the peer's burst, whatever its source ports
  h.audit.Tick();                   // window not over yet
  EXPECT_EQ(h.emitted.size(), 3u);
  h.clock->Advance(std::chrono::microseconds(10'000'001));
  h.audit.Tick();
  ASSERT_EQ(h.emitted.size(), 4u);
  const v1::Event& summary = h.emitted.back();
  EXPECT_NE(summary.msg().find("997 more TLS_HANDSHAKE_FAILED"), std::string::npos);
  EXPECT_NE(summary.msg().find("from 1 peers"), std::string::npos);
  EXPECT_EQ(h.audit.suppressed_total(), 997u);
}

std::string Param(const v1::Event& e, const std::string& name) {
  for (const auto& sd : e.structured_data()) {
    for (const auto& p : sd.params()) {
      if (p.name() == name) return p.value();
    }
  }
  return "<absent>";
}

// The summary keeps the window's first and last suppressed event: their
// time, peer and message, the message cut and escaped to valid UTF-8.
TEST(SelfAuditTest, SummaryKeepsTheFirstAndLastSuppressedEvent) {
  Harness h;
  const int64_t t0 = h.clock->NowMicros();
  for (int i = 0; i < 3; ++i) h.audit.Record(SelfEventKind::kFramingError, "10.0.0.1:1", "burst");
  h.clock->Advance(std::chrono::microseconds(1'000'000));
  h.audit.Record(SelfEventKind::kFramingError, "10.0.0.1:2", "first \xff<bad>");
  h.clock->Advance(std::chrono::microseconds(1'000'000));
  h.audit.Record(SelfEventKind::kFramingError, "10.0.0.1:3", "middle");
  h.clock->Advance(std::chrono::microseconds(1'000'000));
  h.audit.Record(SelfEventKind::kFramingError, "10.0.0.1:4", std::string(1000, 'z') + "tail");
  h.clock->Advance(std::chrono::microseconds(10'000'000));
  h.audit.Tick();
  ASSERT_EQ(h.emitted.size(), 4u);
  const v1::Event& summary = h.emitted.back();
  EXPECT_EQ(Param(summary, "suppressed"), "3");
  EXPECT_EQ(Param(summary, "first_time"), FormatRfc3339Micros(t0 + 1'000'000));
  EXPECT_EQ(Param(summary, "first_peer"), "10.0.0.1:2");
  EXPECT_EQ(Param(summary, "first_msg"), "first \\xFF<bad>");
  EXPECT_EQ(Param(summary, "last_time"), FormatRfc3339Micros(t0 + 3'000'000));
  EXPECT_EQ(Param(summary, "last_peer"), "10.0.0.1:4");
  EXPECT_EQ(Param(summary, "last_msg"),
            std::string(RateLimitedSelfAudit::kExcerptBytes, 'z'));  // cut, "tail" left out
}

// A cut through a multi-byte character leaves escapes, never invalid UTF-8.
TEST(SelfAuditTest, SummaryExcerptCutStaysValidUtf8) {
  Harness h;
  for (int i = 0; i < 3; ++i) h.audit.Record(SelfEventKind::kFramingError, "a:1", "burst");
  const std::string msg = std::string(RateLimitedSelfAudit::kExcerptBytes - 1, 'a') + "\xc3\xa9";
  h.audit.Record(SelfEventKind::kFramingError, "a:1", msg);
  h.audit.Flush();
  ASSERT_EQ(h.emitted.size(), 4u);
  EXPECT_EQ(Param(h.emitted.back(), "last_msg"),
            std::string(RateLimitedSelfAudit::kExcerptBytes - 1, 'a') + "\\xC3");
}

// A noisy peer spends its own burst only: another peer's refusal in the same
// window is still recorded one by one.
TEST(SelfAuditTest, OneNoisyPeerDoesNotHideAnother) {
  Harness h;
  for (int i = 0; i < 500; ++i) {
    h.audit.Record(SelfEventKind::kApiDenied, "192.0.2.66:" + std::to_string(40000 + i), "noise");
  }
  ASSERT_EQ(h.emitted.size(), 3u);
  h.audit.Record(SelfEventKind::kApiDenied, "198.51.100.7:5555", "the one that matters");
  ASSERT_EQ(h.emitted.size(), 4u);
  EXPECT_EQ(h.emitted.back().msg(), "the one that matters");
  h.audit.Record(SelfEventKind::kApiDenied, "[2001:db8::7]:443", "and another");
  ASSERT_EQ(h.emitted.size(), 5u);
}

// Many peers at once still cost a bounded number of writes per window.
TEST(SelfAuditTest, ManyPeersAreSummarisedPastTheKindCap) {
  Harness h;
  const int cap = RateLimitedSelfAudit::kPeersPerWindow * 3;
  for (int i = 0; i < 1000; ++i) {
    h.audit.Record(SelfEventKind::kTlsHandshakeFailed, "10.0.0." + std::to_string(i % 50) + ":1",
                   "garbage");
  }
  EXPECT_EQ(h.emitted.size(), static_cast<size_t>(cap));
  h.clock->Advance(std::chrono::microseconds(10'000'001));
  h.audit.Tick();
  ASSERT_EQ(h.emitted.size(), static_cast<size_t>(cap) + 1);
  EXPECT_NE(h.emitted.back().msg().find(std::to_string(1000 - cap) + " more"), std::string::npos);
  EXPECT_NE(h.emitted.back().msg().find("from 50 peers"), std::string::npos);
}

TEST(SelfAuditTest, KindsAreLimitedSeparately) {
  Harness h;
  for (int i = 0; i < 5; ++i) h.audit.Record(SelfEventKind::kFramingError, "a:1", "x");
  h.audit.Record(SelfEventKind::kShutdown, "", "bye");
  ASSERT_EQ(h.emitted.size(), 4u);
  EXPECT_EQ(h.emitted.back().msgid(), "COLLECTOR_STOP");
}

TEST(SelfAuditTest, EscapesStructuredDataValues) {
  Harness h;
  h.audit.Record(SelfEventKind::kFramingError, "", "x", {{"reason", "a\"b]c\\d"}});
  EXPECT_NE(h.emitted[0].raw().find("reason=\"a\\\"b\\]c\\\\d\""), std::string::npos);
}

}  // namespace
}  // namespace trailkeep

namespace trailkeep {
namespace {

TEST(SelfAuditTest, FlushEmitsOpenWindowsAtShutdown) {
  Harness h;
  for (int i = 0; i < 7; ++i) h.audit.Record(SelfEventKind::kFramingError, "a:1", "x");
  ASSERT_EQ(h.emitted.size(), 3u);
  h.audit.Flush();  // the window has not ended, but the collector is stopping
  ASSERT_EQ(h.emitted.size(), 4u);
  EXPECT_NE(h.emitted.back().msg().find("4 more FRAMING_ERROR"), std::string::npos);
  h.audit.Flush();
  EXPECT_EQ(h.emitted.size(), 4u);
}

// The exact bytes of raw (an export's rfc5424 format hands them out as they are).
TEST(SelfAuditTest, RawBytes) {
  Harness h;
  h.audit.Record(SelfEventKind::kFramingError, "192.0.2.7:1", "bad frame", {{"reason", "a]b"}});
  h.audit.Record(SelfEventKind::kShutdown, "", "");
  ASSERT_EQ(h.emitted.size(), 2u);
  const std::string head = "1 " + FormatRfc3339Micros(h.clock->NowMicros()) +
                           " collector-1 trailkeepd " + std::to_string(getpid()) + " ";
  EXPECT_EQ(h.emitted[0].raw(),
            "<108>" + head + R"(FRAMING_ERROR [trailkeep@32473 peer="192.0.2.7:1" reason="a\]b"])" +
                " bad frame");
  EXPECT_EQ(h.emitted[1].raw(), "<109>" + head + "COLLECTOR_STOP - ");  // no SD, empty MSG
  EXPECT_EQ(h.emitted[1].structured_data_size(), 0);
}

}  // namespace
}  // namespace trailkeep
