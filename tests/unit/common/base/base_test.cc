#include <chrono>
#include <stdexcept>

#include <gtest/gtest.h>

#include "common/base/bytes.h"
#include "common/base/clock.h"
#include "common/base/endpoint.h"
#include "common/base/glob.h"
#include "common/base/status.h"
#include "common/base/time_format.h"

namespace trailkeep {
namespace {

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = Status::Corruption("block 7");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "corruption: block 7");
  Result<int> r = 5;
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 5);
  Result<int> bad = Status::NotFound("x");
  EXPECT_FALSE(bad.ok());
}

TEST(BytesTest, Fixed64RoundTripAndOrder) {
  std::string a, b;
  PutFixed64BE(&a, 0x0102030405060708ULL);
  EXPECT_EQ(a, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(DecodeFixed64BE(a), 0x0102030405060708ULL);
  PutFixed64BE(&b, OrderedFromSigned(-1));
  std::string c;
  PutFixed64BE(&c, OrderedFromSigned(0));
  EXPECT_LT(b, c);
  EXPECT_EQ(SignedFromOrdered(OrderedFromSigned(-12345)), -12345);
}

TEST(BytesTest, Base64AndHex) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(HexColon(std::string("\xab\x01", 2)), "AB:01");
}

TEST(GlobTest, HostPatterns) {
  EXPECT_TRUE(GlobMatch("api-*", "api-1"));
  EXPECT_TRUE(GlobMatch("API-?", "api-1"));
  EXPECT_FALSE(GlobMatch("api-*", "db-1"));
  EXPECT_TRUE(IsLiteralPattern("db-1.example.com"));
  EXPECT_FALSE(IsLiteralPattern("db-*"));
}

// A ManualClock stands still until moved; Set moves the wall reading only
// (a date change), Advance both; the system clock reads the real time.
TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(1'000'000);
  const Clock::SteadyTime start = clock.SteadyNow();
  EXPECT_EQ(clock.NowMicros(), 1'000'000);
  clock.Advance(std::chrono::seconds(2));
  EXPECT_EQ(clock.NowMicros(), 3'000'000);
  EXPECT_EQ(clock.SteadyNow() - start, std::chrono::seconds(2));
  clock.Set(500);
  EXPECT_EQ(clock.NowMicros(), 500);
  EXPECT_EQ(clock.SteadyNow() - start, std::chrono::seconds(2));

  const ClockPtr system = MakeSystemClock();
  const int64_t real_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  EXPECT_LE(std::abs(system->NowMicros() - real_us), 1'000'000);
}

TEST(TimeFormatTest, FormatsAndParses) {
  EXPECT_EQ(FormatRfc3339Micros(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339Micros(1'700'000'000'123'456), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(ParseTimeArg("2023-11-14T22:13:20.123456Z", 0), 1'700'000'000'123'456);
  EXPECT_EQ(ParseTimeArg("2023-11-14T23:13:20+01:00", 0), 1'700'000'000'000'000);
  EXPECT_EQ(ParseTimeArg("1970-01-02", 0), 86'400'000'000);
  EXPECT_EQ(ParseTimeArg("15m", 1'000'000'000), 1'000'000'000 - 900'000'000);
  EXPECT_EQ(ParseTimeArg("2h", 0), -7'200'000'000);
  EXPECT_FALSE(ParseTimeArg("yesterday", 0).has_value());
  EXPECT_FALSE(ParseTimeArg("2023-13-01", 0).has_value());
}

// Times that do not exist are refused, not wrapped into the next month or day.
TEST(TimeFormatTest, RefusesImpossibleTimes) {
  for (const char* text :
       {"2026-02-30T00:00:00+25:00", "2026-02-30T00:00:00Z", "2026-02-29", "2100-02-29",
        "2026-04-31T00:00:00Z", "2026-01-01T00:00:00+25:00", "2026-01-01T00:00:00+23:60",
        "2026-01-01T00:00:00-24:00", "2026-01-01T24:00:00Z"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(ParseTimeArg(text, 0).has_value());
  }
  EXPECT_TRUE(ParseTimeArg("2028-02-29", 0).has_value());  // a leap year
  EXPECT_TRUE(ParseTimeArg("2000-02-29T23:59:59-23:59", 0).has_value());
  EXPECT_EQ(DaysInMonth(2026, 2), 28);
  EXPECT_EQ(DaysInMonth(2000, 2), 29);
  EXPECT_EQ(DaysInMonth(2026, 12), 31);
}

// A duration reaching past what int64 microseconds hold is refused, not
// overflowed (undefined behaviour; since=999999999w on /v1/events).
TEST(TimeFormatTest, RefusesDurationsThatOverflow) {
  const int64_t now = 1'795'410'000'000'000;
  EXPECT_FALSE(ParseTimeArg("999999999w", now).has_value());
  EXPECT_FALSE(ParseTimeArg("999999999d", now).has_value());
  EXPECT_EQ(ParseTimeArg("999999999s", now), now - 999'999'999'000'000);
  EXPECT_EQ(ParseTimeArg("52w", now), now - 52 * 7 * 86'400'000'000LL);
}

TEST(HostPortTest, AcceptsV4V6AndRejectsJunk) {
  std::string h;
  unsigned short port;
  SplitHostPort("127.0.0.1:6514", &h, &port);
  EXPECT_EQ(h, "127.0.0.1");
  EXPECT_EQ(port, 6514);
  SplitHostPort("[::1]:0", &h, &port);
  EXPECT_EQ(h, "::1");
  EXPECT_EQ(port, 0);
  EXPECT_THROW(SplitHostPort("127.0.0.1", &h, &port), std::runtime_error);
  EXPECT_THROW(SplitHostPort("127.0.0.1:70000", &h, &port), std::runtime_error);
  EXPECT_THROW(SplitHostPort("[::1]6514", &h, &port), std::runtime_error);
  for (const char* bad : {":80", "[]:80", "h:", "h:123456", "h:8o", "h:-1", "[::1]:", "[::1"}) {
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
  }
  const Result<HostPort> r = ParseHostPort("collector.example:00065");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->host, "collector.example");
  EXPECT_EQ(r->port, 65);
  EXPECT_EQ(ParseHostPort("h:65535")->port, 65535);
  EXPECT_EQ(ParseHostPort("h").status().message(), "bad address 'h': expected host:port");
}

}  // namespace
}  // namespace trailkeep
