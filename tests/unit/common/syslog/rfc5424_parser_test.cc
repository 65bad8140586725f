// RFC 5424 strict parsing, RFC 3339 timestamps, and ParseSyslog's handling of
// frames that announce RFC 5424 but break its grammar.

#include <cstdint>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "common/syslog/syslog_parser.h"
#include "tests/unit/common/syslog/parser_test_util.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

using parser_test::ExpectRoundTrips;
using parser_test::kReceiveUs;
using parser_test::Syslog;

using namespace std::string_literals;

constexpr std::string_view kBom = "\xEF\xBB\xBF";

struct Parsed {
  bool ok = false;
  std::string error;
  v1::Event event;
};

Parsed Strict(std::string_view frame) {
  Parsed p;
  p.ok = ParseRfc5424(frame, kReceiveUs, &p.event, &p.error);
  return p;
}

// ---------------------------------------------------------------- RFC 3339

struct TimeCase {
  const char* text;
  int64_t utc_us;
  int offset_min;
};

TEST(Rfc3339Test, ValidTimestamps) {
  const TimeCase cases[] = {
      {"1970-01-01T00:00:00Z", 0, 0},
      {"1969-12-31T23:59:59.5Z", -500000, 0},
      {"2003-10-11T22:14:15.003Z", 1065910455003000, 0},
      {"2003-08-24T05:14:15.000003-07:00", 1061727255000003, -420},
      {"1985-04-12T23:20:50.52Z", 482196050520000, 0},
      {"1996-12-19T16:39:57-08:00", 851042397000000, -480},
      {"2020-08-11T11:15:00.025-07:00", 1597169700025000, -420},
      {"2026-11-23T05:08:34.858884+00:00", 1795410514858884, 0},
      {"2021-12-06T11:09:30.302105-05:00", 1638806970302105, -300},
      {"2000-02-29T00:00:00Z", 951782400000000, 0},
      {"2026-11-23T10:30:00+05:30", 1795410000000000, 330},
      {"0000-01-01T00:00:00Z", int64_t{-719528} * 86400 * 1000000, 0},
      {"9999-12-31T23:59:59.999999Z", 253402300799999999, 0},
      {"2026-11-23T05:00:00-00:00", 1795410000000000, 0},
  };
  for (const TimeCase& c : cases) {
    SCOPED_TRACE(c.text);
    int64_t utc_us = 1;
    int offset = 1;
    ASSERT_TRUE(ParseRfc3339(c.text, &utc_us, &offset));
    EXPECT_EQ(utc_us, c.utc_us);
    EXPECT_EQ(offset, c.offset_min);
  }
}

TEST(Rfc3339Test, RefusesWhatRfc5424Forbids) {
  const char* bad[] = {
      "",
      "2021-12-31T23:59:60Z",          // leap second
      "2021-02-29T00:00:00Z",          // not a leap year
      "1900-02-29T00:00:00Z",          // century rule
      "2021-04-31T00:00:00Z",          // April has 30 days
      "2021-00-10T00:00:00Z",          // month 0
      "2021-13-10T00:00:00Z",          // month 13
      "2021-01-00T00:00:00Z",          // day 0
      "2021-01-01T24:00:00Z",          // hour 24
      "2021-01-01T00:60:00Z",          // minute 60
      "2021-01-01T00:00:00",           // no zone
      "2021-01-01t00:00:00Z",          // lower-case t
      "2021-01-01T00:00:00z",          // lower-case z
      "2021-01-01 00:00:00Z",          // space instead of T
      "2021-01-01T00:00:00.Z",         // dot without digits
      "2021-01-01T00:00:00.1234567Z",  // more than six fraction digits
      "2021-01-01T00:00:00+0500",      // offset without colon
      "2021-01-01T00:00:00+05",        // truncated offset
      "2021-01-01T00:00:00+05:60",     // offset minute 60
      "2021-01-01T00:00:00+24:00",     // offset hour 24
      "2021-01-01T00:00:00Z ",         // trailing byte
      "2021-1-01T00:00:00Z",           // one-digit month
      "21-01-01T00:00:00Z",            // two-digit year
      "2021-01-01T00:00Z",             // no seconds
      "-",
  };
  for (const char* text : bad) {
    SCOPED_TRACE(text);
    int64_t utc_us = 0;
    int offset = 0;
    EXPECT_FALSE(ParseRfc3339(text, &utc_us, &offset));
  }
}

TEST(Rfc3339Test, FractionIsScaledToMicroseconds) {
  int64_t utc_us = 0;
  int offset = 0;
  ASSERT_TRUE(ParseRfc3339("1970-01-01T00:00:01.5Z", &utc_us, &offset));
  EXPECT_EQ(utc_us, 1500000);
  ASSERT_TRUE(ParseRfc3339("1970-01-01T00:00:01.000001Z", &utc_us, &offset));
  EXPECT_EQ(utc_us, 1000001);
}

// ----------------------------------------------- RFC 5424 section 6.5 examples

TEST(Rfc5424Test, Example1WithBom) {
  const std::string frame = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "s +
                            std::string(kBom) + "'su root' failed for lonvick on /dev/pts/8";
  const Parsed p = Strict(frame);
  ASSERT_TRUE(p.ok) << p.error;
  const v1::Event& e = p.event;
  EXPECT_EQ(e.format(), v1::FORMAT_RFC5424);
  EXPECT_EQ(e.pri(), 34);
  EXPECT_EQ(e.version(), 1);
  EXPECT_EQ(e.timestamp_text(), "2003-10-11T22:14:15.003Z");
  EXPECT_EQ(e.event_time_us(), 1065910455003000);
  EXPECT_FALSE(e.event_time_inferred());
  EXPECT_EQ(e.event_tz_offset_min(), 0);
  EXPECT_EQ(e.hostname(), "mymachine.example.com");
  EXPECT_EQ(e.app_name(), "su");
  EXPECT_EQ(e.procid(), "");
  EXPECT_EQ(e.msgid(), "ID47");
  EXPECT_EQ(e.structured_data_size(), 0);
  EXPECT_TRUE(e.msg_has_bom());
  EXPECT_EQ(e.msg(), "'su root' failed for lonvick on /dev/pts/8");
  ExpectRoundTrips(e);
}

TEST(Rfc5424Test, Example2WithOffsetAndMicroseconds) {
  const Parsed p = Strict(
      "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the "
      "do-nuts.");
  ASSERT_TRUE(p.ok) << p.error;
  const v1::Event& e = p.event;
  EXPECT_EQ(e.pri(), 165);
  EXPECT_EQ(e.event_time_us(), 1061727255000003);
  EXPECT_EQ(e.event_tz_offset_min(), -420);
  EXPECT_EQ(e.hostname(), "192.0.2.1");
  EXPECT_EQ(e.app_name(), "myproc");
  EXPECT_EQ(e.procid(), "8710");
  EXPECT_EQ(e.msgid(), "");
  EXPECT_FALSE(e.msg_has_bom());
  EXPECT_EQ(e.msg(), "%% It's time to make the do-nuts.");
}

TEST(Rfc5424Test, Example3StructuredDataAndMsg) {
  const std::string frame =
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
      "iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "s +
      std::string(kBom) + "An application event log entry...";
  const Parsed p = Strict(frame);
  ASSERT_TRUE(p.ok) << p.error;
  const v1::Event& e = p.event;
  EXPECT_EQ(e.app_name(), "evntslog");
  ASSERT_EQ(e.structured_data_size(), 1);
  const v1::SdElement& sd = e.structured_data(0);
  EXPECT_EQ(sd.id(), "exampleSDID@32473");
  ASSERT_EQ(sd.params_size(), 3);
  EXPECT_EQ(sd.params(0).name(), "iut");
  EXPECT_EQ(sd.params(0).value(), "3");
  EXPECT_EQ(sd.params(1).name(), "eventSource");
  EXPECT_EQ(sd.params(1).value(), "Application");
  EXPECT_EQ(sd.params(2).name(), "eventID");
  EXPECT_EQ(sd.params(2).value(), "1011");
  EXPECT_TRUE(e.msg_has_bom());
  EXPECT_EQ(e.msg(), "An application event log entry...");
}

TEST(Rfc5424Test, Example4TwoElementsNoMsg) {
  const Parsed p = Strict(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
      "iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 "
      "class=\"high\"]");
  ASSERT_TRUE(p.ok) << p.error;
  const v1::Event& e = p.event;
  ASSERT_EQ(e.structured_data_size(), 2);
  EXPECT_EQ(e.structured_data(1).id(), "examplePriority@32473");
  ASSERT_EQ(e.structured_data(1).params_size(), 1);
  EXPECT_EQ(e.structured_data(1).params(0).name(), "class");
  EXPECT_EQ(e.structured_data(1).params(0).value(), "high");
  EXPECT_EQ(e.msg(), "");
  EXPECT_FALSE(e.msg_has_bom());
}

// ------------------------------- lines captured from Debian's logger and loggen

TEST(Rfc5424Test, DebianLoggerLfExample) {
  const Parsed p = Strict(
      "<155>1 2026-11-23T05:08:34.858884+00:00 vm myapp - - [timeQuality tzKnown=\"1\" "
      "isSynced=\"0\"] hello lf\n");
  ASSERT_TRUE(p.ok) << p.error;
  const v1::Event& e = p.event;
  EXPECT_EQ(e.pri(), 155);
  EXPECT_EQ(e.event_time_us(), 1795410514858884);
  EXPECT_EQ(e.hostname(), "vm");
  EXPECT_EQ(e.app_name(), "myapp");
  ASSERT_EQ(e.structured_data_size(), 1);
  EXPECT_EQ(e.structured_data(0).id(), "timeQuality");
  EXPECT_EQ(e.structured_data(0).params(0).name(), "tzKnown");
  EXPECT_EQ(e.structured_data(0).params(1).value(), "0");
  EXPECT_EQ(e.msg(), "hello lf");
}

TEST(Rfc5424Test, DebianLoggerOctetExample) {
  const Parsed p = Strict(
      "<37>1 2026-11-23T05:08:37.963438+00:00 vm myapp - LOGIN [timeQuality tzKnown=\"1\" "
      "isSynced=\"0\"][ex@32473 k=\"v\"] hello octet");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.msgid(), "LOGIN");
  ASSERT_EQ(p.event.structured_data_size(), 2);
  EXPECT_EQ(p.event.structured_data(1).id(), "ex@32473");
  EXPECT_EQ(p.event.structured_data(1).params(0).value(), "v");
  EXPECT_EQ(p.event.msg(), "hello octet");
}

TEST(Rfc5424Test, LoggenBomExample) {
  const std::string frame = "<38>1 2026-11-23T05:12:19+00:00 localhost prg00000 1234 - - "s +
                            std::string(kBom) + "seq: 0000000000, thread: 0000, ...\n";
  const Parsed p = Strict(frame);
  ASSERT_TRUE(p.ok) << p.error;
  const v1::Event& e = p.event;
  EXPECT_EQ(e.event_time_us(), 1795410739000000);
  EXPECT_EQ(e.hostname(), "localhost");
  EXPECT_EQ(e.app_name(), "prg00000");
  EXPECT_EQ(e.procid(), "1234");
  EXPECT_TRUE(e.msg_has_bom());
  EXPECT_EQ(e.msg(), "seq: 0000000000, thread: 0000, ...");
}

// --------------------------------------------------------- structured data

TEST(Rfc5424Test, ParamValueEscapes) {
  const Parsed p = Strict(
      R"(<13>1 - - - - - [ex@32473 q="a\"b" bs="a\\b" br="a\]b" lit="a\nb" end="x\\" raw="a]b"])");
  ASSERT_TRUE(p.ok) << p.error;
  ASSERT_EQ(p.event.structured_data_size(), 1);
  const v1::SdElement& sd = p.event.structured_data(0);
  ASSERT_EQ(sd.params_size(), 6);
  EXPECT_EQ(sd.params(0).value(), "a\"b");
  EXPECT_EQ(sd.params(1).value(), "a\\b");
  EXPECT_EQ(sd.params(2).value(), "a]b");
  EXPECT_EQ(sd.params(3).value(), "a\\nb");  // backslash before 'n' kept: both bytes
  EXPECT_EQ(sd.params(4).value(), "x\\");
  EXPECT_EQ(sd.params(5).value(), "a]b");  // unescaped ']' inside quotes tolerated
  EXPECT_EQ(p.event.msg(), "");
}

TEST(Rfc5424Test, EmptyAndUtf8ParamValues) {
  const Parsed p =
      Strict("<13>1 - - - - - [ex@32473 empty=\"\" utf8=\"caf\xC3\xA9 \xE2\x82\xAC\"]");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.structured_data(0).params(0).value(), "");
  EXPECT_EQ(p.event.structured_data(0).params(1).value(), "caf\xC3\xA9 \xE2\x82\xAC");
  ExpectRoundTrips(p.event);
}

TEST(Rfc5424Test, ElementWithoutParams) {
  const Parsed p = Strict("<13>1 - - - - - [origin][meta sequenceId=\"1\"] m");
  ASSERT_TRUE(p.ok) << p.error;
  ASSERT_EQ(p.event.structured_data_size(), 2);
  EXPECT_EQ(p.event.structured_data(0).id(), "origin");
  EXPECT_EQ(p.event.structured_data(0).params_size(), 0);
  EXPECT_EQ(p.event.msg(), "m");
}

TEST(Rfc5424Test, ParamNameMayRepeatInsideAnElement) {
  const Parsed p = Strict("<13>1 - - - - - [origin ip=\"192.0.2.1\" ip=\"192.0.2.2\"]");
  ASSERT_TRUE(p.ok) << p.error;
  ASSERT_EQ(p.event.structured_data(0).params_size(), 2);
  EXPECT_EQ(p.event.structured_data(0).params(1).value(), "192.0.2.2");
}

TEST(Rfc5424Test, RepeatedSdIdIsAnError) {
  const Parsed p = Strict("<13>1 - - - - - [ex@32473 a=\"1\"][ex@32473 a=\"2\"] m");
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.error.find("repeated SD-ID"), std::string::npos) << p.error;
}

TEST(Rfc5424Test, MalformedStructuredData) {
  const char* bad[] = {
      "<13>1 - - - - - [",                       // unterminated
      "<13>1 - - - - - []",                      // empty SD-ID
      "<13>1 - - - - - [a b]",                   // param without '='
      "<13>1 - - - - - [a b=c]",                 // unquoted value
      "<13>1 - - - - - [a b=\"c]",               // unterminated value
      "<13>1 - - - - - [a b=\"c\xC8\xD1] m",     // unterminated, not UTF-8
      "<13>1 - - - - - [a b=\"c\\\"]",           // escaped closing quote
      "<13>1 - - - - - [a b=\"c\"",              // no ']'
      "<13>1 - - - - - [a b=\"c\"]x",            // no SP before MSG
      "<13>1 - - - - - [a  b=\"c\"]",            // two spaces
      "<13>1 - - - - - [a =\"c\"]",              // empty PARAM-NAME
      "<13>1 - - - - - [a b=\"\xFF\"]",          // invalid UTF-8 value
      "<13>1 - - - - - [a b=\"\xC0\xAF\"]",      // overlong UTF-8
      "<13>1 - - - - - [a b=\"\xED\xA0\x80\"]",  // UTF-16 surrogate
      "<13>1 - - - - - hello",                   // SD missing
      "<13>1 - - - - - -x",                      // NIL SD glued to MSG
      "<13>1 - - - - - [a\x01 b=\"c\"]",         // control byte in SD-ID
  };
  for (const char* frame : bad) {
    SCOPED_TRACE(frame);
    const Parsed p = Strict(frame);
    EXPECT_FALSE(p.ok);
    EXPECT_FALSE(p.error.empty());
    // What a failed parse leaves in the event is valid too (found by
    // rfc5424_fuzz: the rejected PARAM-VALUE's bytes stayed in the param).
    ExpectRoundTrips(p.event);
  }
}

TEST(Rfc5424Test, SdNameLengthLimit) {
  const std::string id32(32, 'a');
  EXPECT_TRUE(Strict("<13>1 - - - - - [" + id32 + " " + id32 + "=\"v\"]").ok);
  EXPECT_FALSE(Strict("<13>1 - - - - - [" + id32 + "b]").ok);
  EXPECT_FALSE(Strict("<13>1 - - - - - [a " + id32 + "b=\"v\"]").ok);
}

// ------------------------------------------------------------ header fields

TEST(Rfc5424Test, NilEverything) {
  v1::Event e;
  std::string error;
  ASSERT_TRUE(ParseRfc5424("<13>1 - - - - - -", kReceiveUs, &e, &error)) << error;
  EXPECT_EQ(e.format(), v1::FORMAT_RFC5424);
  EXPECT_EQ(e.pri(), 13);
  EXPECT_EQ(e.version(), 1);
  EXPECT_EQ(e.timestamp_text(), "-");
  EXPECT_TRUE(e.event_time_inferred());
  EXPECT_EQ(e.event_time_us(), kReceiveUs);
  EXPECT_EQ(e.event_tz_offset_min(), 0);
  EXPECT_EQ(e.hostname(), "");
  EXPECT_EQ(e.app_name(), "");
  EXPECT_EQ(e.procid(), "");
  EXPECT_EQ(e.msgid(), "");
  EXPECT_EQ(e.structured_data_size(), 0);
  EXPECT_EQ(e.msg(), "");
}

TEST(Rfc5424Test, NilWithEmptyMsgAndTrailingLf) {
  Parsed p = Strict("<13>1 - - - - - - ");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.msg(), "");
  p = Strict("<13>1 - - - - - -\n");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.msg(), "");
}

TEST(Rfc5424Test, DashPrefixedFieldsAreNotNil) {
  const Parsed p = Strict("<13>1 - -host -app -1 -id - m");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.hostname(), "-host");
  EXPECT_EQ(p.event.app_name(), "-app");
  EXPECT_EQ(p.event.procid(), "-1");
  EXPECT_EQ(p.event.msgid(), "-id");
}

TEST(Rfc5424Test, PriRange) {
  EXPECT_TRUE(Strict("<0>1 - - - - - -").ok);
  EXPECT_EQ(Strict("<191>1 - - - - - -").event.pri(), 191);
  const Parsed p = Strict("<192>1 - - - - - -");
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.error.find("192"), std::string::npos) << p.error;
  EXPECT_FALSE(Strict("<01>1 - - - - - -").ok);
  EXPECT_FALSE(Strict("<>1 - - - - - -").ok);
  EXPECT_FALSE(Strict("<1000>1 - - - - - -").ok);
  EXPECT_FALSE(Strict("13>1 - - - - - -").ok);
}

TEST(Rfc5424Test, Version) {
  EXPECT_EQ(Strict("<13>12 - - - - - -").event.version(), 12);
  EXPECT_FALSE(Strict("<13>0 - - - - - -").ok);
  EXPECT_FALSE(Strict("<13>1234 - - - - - -").ok);
  EXPECT_FALSE(Strict("<13>1- - - - - -").ok);
  EXPECT_FALSE(Strict("<13> - - - - - -").ok);
}

TEST(Rfc5424Test, FractionalAndOffsetTimestamps) {
  Parsed p = Strict("<13>1 1985-04-12T23:20:50.52Z h a - - -");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.event_time_us(), 482196050520000);
  p = Strict("<13>1 1996-12-19T16:39:57-08:00 h a - - -");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.event_time_us(), 851042397000000);
  EXPECT_EQ(p.event.event_tz_offset_min(), -480);
  EXPECT_EQ(p.event.timestamp_text(), "1996-12-19T16:39:57-08:00");
}

TEST(Rfc5424Test, LeapSecondIsRefused) {
  const Parsed p = Strict("<13>1 2016-12-31T23:59:60Z h a - - - leap");
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.error.find("TIMESTAMP"), std::string::npos) << p.error;
}

TEST(Rfc5424Test, FieldLengthLimits) {
  const auto frame = [](const std::string& host, const std::string& app, const std::string& proc,
                        const std::string& msgid) {
    return "<13>1 - " + host + " " + app + " " + proc + " " + msgid + " - m";
  };
  EXPECT_TRUE(Strict(frame(std::string(255, 'h'), "a", "p", "m")).ok);
  EXPECT_FALSE(Strict(frame(std::string(256, 'h'), "a", "p", "m")).ok);
  EXPECT_TRUE(Strict(frame("h", std::string(48, 'a'), "p", "m")).ok);
  EXPECT_FALSE(Strict(frame("h", std::string(49, 'a'), "p", "m")).ok);
  EXPECT_TRUE(Strict(frame("h", "a", std::string(128, 'p'), "m")).ok);
  EXPECT_FALSE(Strict(frame("h", "a", std::string(129, 'p'), "m")).ok);
  EXPECT_TRUE(Strict(frame("h", "a", "p", std::string(32, 'm'))).ok);
  EXPECT_FALSE(Strict(frame("h", "a", "p", std::string(33, 'm'))).ok);
}

TEST(Rfc5424Test, HeaderFieldsMustBePrintableAscii) {
  EXPECT_FALSE(Strict("<13>1 - h\xC3\xA9 a - - -").ok);
  EXPECT_FALSE(Strict("<13>1 - h a\x7F - - -").ok);
  EXPECT_FALSE(Strict("<13>1 - h  a - - -").ok);  // empty field
  EXPECT_FALSE(Strict("<13>1 - h a - -").ok);     // truncated header
}

TEST(Rfc5424Test, FieldsBeforeTheErrorAreKept) {
  const Parsed p = Strict("<13>1 2021-03-14T18:21:25Z host " + std::string(49, 'a') + " - - -");
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.error.find("APP-NAME"), std::string::npos) << p.error;
  EXPECT_EQ(p.event.pri(), 13);
  EXPECT_EQ(p.event.hostname(), "host");
  EXPECT_EQ(p.event.timestamp_text(), "2021-03-14T18:21:25Z");
}

// ------------------------------------------------------------------- MSG

TEST(Rfc5424Test, OnlyOneTrailingLfIsStripped) {
  EXPECT_EQ(Strict("<13>1 - - - - - - hello\n").event.msg(), "hello");
  EXPECT_EQ(Strict("<13>1 - - - - - - hello\n\n").event.msg(), "hello\n");
  EXPECT_EQ(Strict("<13>1 - - - - - - hello\r\n").event.msg(), "hello\r");
  EXPECT_EQ(Strict("<13>1 - - - - - - two\nlines").event.msg(), "two\nlines");
}

TEST(Rfc5424Test, InvalidUtf8AndNulInMsgAreKeptByteExact) {
  const std::string msg = "bin\x00\xFF\xFE\xC0\x80 end\x00"s;
  const Parsed p = Strict("<13>1 - - - - - - " + msg);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.msg(), msg);
  EXPECT_FALSE(p.event.msg_has_bom());
  ExpectRoundTrips(p.event);
}

TEST(Rfc5424Test, BomOnlyAtMsgStart) {
  const std::string bom(kBom);
  Parsed p = Strict("<13>1 - - - - - - " + bom);
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p.event.msg_has_bom());
  EXPECT_EQ(p.event.msg(), "");
  p = Strict("<13>1 - - - - - - x" + bom);
  EXPECT_FALSE(p.event.msg_has_bom());
  EXPECT_EQ(p.event.msg(), "x" + bom);
}

// ----------------------------------------------------------------- Junos

TEST(Rfc5424Test, JunosLoginFailed) {
  const Parsed p = Strict(
      "<30>1 2021-03-14T18:21:25.123Z dut1 sshd 11536 SSHD_LOGIN_FAILED [junos@2636.1.1.1.2.40 "
      "username=\"test\" source-address=\"172.18.15.253\"] Login failed for user 'test' from host "
      "'172.18.15.253'");
  ASSERT_TRUE(p.ok) << p.error;
  const v1::Event& e = p.event;
  EXPECT_EQ(e.pri(), 30);
  EXPECT_EQ(e.event_time_us(), 1615746085123000);
  EXPECT_EQ(e.hostname(), "dut1");
  EXPECT_EQ(e.app_name(), "sshd");
  EXPECT_EQ(e.procid(), "11536");
  EXPECT_EQ(e.msgid(), "SSHD_LOGIN_FAILED");
  ASSERT_EQ(e.structured_data_size(), 1);
  EXPECT_EQ(e.structured_data(0).id(), "junos@2636.1.1.1.2.40");
  ASSERT_EQ(e.structured_data(0).params_size(), 2);
  EXPECT_EQ(e.structured_data(0).params(0).name(), "username");
  EXPECT_EQ(e.structured_data(0).params(0).value(), "test");
  EXPECT_EQ(e.structured_data(0).params(1).name(), "source-address");
  EXPECT_EQ(e.structured_data(0).params(1).value(), "172.18.15.253");
  EXPECT_EQ(e.msg(), "Login failed for user 'test' from host '172.18.15.253'");
}

// Verbatim from seed document 003, line 106 (docs/ndcpp.md, 'Seed documents').
TEST(Rfc5424Test, JunosSeedLineWithNilSd) {
  const Parsed p = Strict(
      "<30>1 2020-08-11T11:15:00.025-07:00 cartier nsd 2095 NSD_SYS_TIME_CHANGE - System time has "
      "changed.");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.event_time_us(), 1597169700025000);
  EXPECT_EQ(p.event.event_tz_offset_min(), -420);
  EXPECT_EQ(p.event.hostname(), "cartier");
  EXPECT_EQ(p.event.app_name(), "nsd");
  EXPECT_EQ(p.event.procid(), "2095");
  EXPECT_EQ(p.event.msgid(), "NSD_SYS_TIME_CHANGE");
  EXPECT_EQ(p.event.msg(), "System time has changed.");
}

// The seed's Junos table cell (003, line 78) with a header added: a real `\]` escape.
TEST(Rfc5424Test, JunosSeedEscapedBracket) {
  const Parsed p = Strict(
      "<13>1 2020-08-11T11:15:00.025-07:00 cartier login 2671 LOGIN_INFORMATION "
      "[junos@2636.1.1.1.2.164 username=\"root\" hostname=\"[unknown\\]\" tty-name=\"ttyu0\"] "
      "User root logged in from host [unknown] on device ttyu0");
  ASSERT_TRUE(p.ok) << p.error;
  ASSERT_EQ(p.event.structured_data_size(), 1);
  const v1::SdElement& sd = p.event.structured_data(0);
  EXPECT_EQ(sd.id(), "junos@2636.1.1.1.2.164");
  ASSERT_EQ(sd.params_size(), 3);
  EXPECT_EQ(sd.params(1).name(), "hostname");
  EXPECT_EQ(sd.params(1).value(), "[unknown]");
  EXPECT_EQ(sd.params(2).value(), "ttyu0");
  EXPECT_EQ(p.event.msg(), "User root logged in from host [unknown] on device ttyu0");
}

// The seed's KMD_VPN_UP_ALARM_USER cell (003, line 202) with the PDF's line-break
// spaces taken out: `\]` inside values that also contain '[' and '='.
TEST(Rfc5424Test, JunosSeedVpnSelectorsRepaired) {
  const Parsed p = Strict(
      "<13>1 2020-08-11T11:15:00.025-07:00 cartier kmd 6619 KMD_VPN_UP_ALARM_USER "
      "[junos@2636.1.1.1.2.164 vpn-name=\"vpn1\" traffic-selector-name=\"\" "
      "traffic-selector-cfg-local-id=\"ipv4_subnet(any:0,[0..7\\]=0.0.0.0/0)\" "
      "argument1=\"Static\"] VPN vpn1 from 5.5.5.1 is up.");
  ASSERT_TRUE(p.ok) << p.error;
  const v1::SdElement& sd = p.event.structured_data(0);
  ASSERT_EQ(sd.params_size(), 4);
  EXPECT_EQ(sd.params(1).value(), "");
  EXPECT_EQ(sd.params(2).value(), "ipv4_subnet(any:0,[0..7]=0.0.0.0/0)");
  EXPECT_EQ(p.event.msg(), "VPN vpn1 from 5.5.5.1 is up.");
}

// ------------------------------------------- ParseSyslog: RFC 5424 fallback

TEST(ParseSyslogTest, Clean5424HasNoParseError) {
  v1::Event e;
  e.set_parse_error("stale");
  ParseSyslog("<13>1 - h a - - - m", kReceiveUs, &e);
  EXPECT_EQ(e.format(), v1::FORMAT_RFC5424);
  EXPECT_EQ(e.parse_error(), "");
  EXPECT_EQ(e.msg(), "m");
}

TEST(ParseSyslogTest, LeavesCallerFieldsAlone) {
  v1::Event e;
  e.set_raw("raw bytes");
  e.set_receive_time_us(42);
  e.set_host("h1");
  e.mutable_peer()->set_address("192.0.2.1:5000");
  e.set_ingest_seq(7);
  for (const char* frame :
       {"<13>1 - h a - - - m", "<13>1 - h a - - [x", "<13>Nov 23 h t: m", "garbage", ""}) {
    ParseSyslog(frame, kReceiveUs, &e);
    EXPECT_EQ(e.raw(), "raw bytes");
    EXPECT_EQ(e.receive_time_us(), 42);
    EXPECT_EQ(e.host(), "h1");
    EXPECT_EQ(e.peer().address(), "192.0.2.1:5000");
    EXPECT_EQ(e.ingest_seq(), 7u);
  }
}

TEST(ParseSyslogTest, BrokenSdKeepsHeaderAndMovesSdToMsg) {
  const v1::Event e = Syslog(
      "<13>1 2021-03-14T18:21:25Z host app 12 ID [ex@32473 a=\"1\"][ex@32473 a=\"2\"] text\n");
  EXPECT_EQ(e.format(), v1::FORMAT_RFC5424);
  EXPECT_EQ(e.parse_error().rfind("rfc5424: repeated SD-ID", 0), 0u) << e.parse_error();
  EXPECT_EQ(e.pri(), 13);
  EXPECT_EQ(e.version(), 1);
  EXPECT_EQ(e.hostname(), "host");
  EXPECT_EQ(e.app_name(), "app");
  EXPECT_EQ(e.procid(), "12");
  EXPECT_EQ(e.msgid(), "ID");
  EXPECT_FALSE(e.event_time_inferred());
  EXPECT_EQ(e.structured_data_size(), 0);
  EXPECT_EQ(e.msg(), "[ex@32473 a=\"1\"][ex@32473 a=\"2\"] text");
  ExpectRoundTrips(e);
}

TEST(ParseSyslogTest, MissingSdBecomesMsg) {
  const v1::Event e = Syslog("<13>1 2021-03-14T18:21:25Z host app - - hello world");
  EXPECT_EQ(e.format(), v1::FORMAT_RFC5424);
  EXPECT_FALSE(e.parse_error().empty());
  EXPECT_EQ(e.hostname(), "host");
  EXPECT_EQ(e.msg(), "hello world");
}

TEST(ParseSyslogTest, BadTimestampIsInferredButSdStillParsed) {
  const v1::Event e = Syslog("<13>1 2016-12-31T23:59:60Z host app - - [a@1 k=\"v\"] msg");
  EXPECT_EQ(e.format(), v1::FORMAT_RFC5424);
  EXPECT_NE(e.parse_error().find("TIMESTAMP"), std::string::npos) << e.parse_error();
  EXPECT_EQ(e.timestamp_text(), "2016-12-31T23:59:60Z");
  EXPECT_TRUE(e.event_time_inferred());
  EXPECT_EQ(e.event_time_us(), kReceiveUs);
  EXPECT_EQ(e.hostname(), "host");
  ASSERT_EQ(e.structured_data_size(), 1);
  EXPECT_EQ(e.structured_data(0).params(0).value(), "v");
  EXPECT_EQ(e.msg(), "msg");
}

TEST(ParseSyslogTest, NanosecondTimestampFallsBackToReceiveTime) {
  const v1::Event e = Syslog("<13>1 2021-03-14T18:21:25.123456789Z host app - - - m");
  EXPECT_EQ(e.format(), v1::FORMAT_RFC5424);
  EXPECT_FALSE(e.parse_error().empty());
  EXPECT_TRUE(e.event_time_inferred());
  EXPECT_EQ(e.msg(), "m");
}

TEST(ParseSyslogTest, OverlongAppNameIsKeptWhole) {
  const std::string app(60, 'a');
  const v1::Event e = Syslog("<13>1 - host " + app + " - - - m");
  EXPECT_EQ(e.format(), v1::FORMAT_RFC5424);
  EXPECT_NE(e.parse_error().find("APP-NAME"), std::string::npos);
  EXPECT_EQ(e.app_name(), app);
  EXPECT_EQ(e.msg(), "m");
}

TEST(ParseSyslogTest, OutOfRangePriIsDropped) {
  const v1::Event e = Syslog("<192>1 - host app - - - m");
  EXPECT_EQ(e.format(), v1::FORMAT_RFC5424);
  EXPECT_EQ(e.pri(), -1);
  EXPECT_EQ(e.hostname(), "host");
  EXPECT_EQ(e.msg(), "m");
}

TEST(ParseSyslogTest, NonAsciiHostnameIsLeftToRaw) {
  const v1::Event e = Syslog("<13>1 - h\xC3\xA9 app - - - m");
  EXPECT_EQ(e.format(), v1::FORMAT_RFC5424);
  EXPECT_EQ(e.hostname(), "");
  EXPECT_EQ(e.app_name(), "app");
  ExpectRoundTrips(e);
}

TEST(ParseSyslogTest, NoRfc5424HeaderIsUnparsed) {
  for (const std::string& frame : {"<13>1 hello world"s, "<13>1 "s, "<13>1 a b c d e f"s,
                                   "<13>1 2021 b c d e f"s, "<13>1 - h a p\n"s}) {
    SCOPED_TRACE(frame);
    const v1::Event e = Syslog(frame);
    EXPECT_EQ(e.format(), v1::FORMAT_UNPARSED);
    EXPECT_EQ(e.parse_error().rfind("rfc5424: ", 0), 0u) << e.parse_error();
    EXPECT_EQ(e.msg(), frame);
    EXPECT_EQ(e.pri(), -1);
    EXPECT_TRUE(e.event_time_inferred());
    EXPECT_EQ(e.event_time_us(), kReceiveUs);
    EXPECT_EQ(e.hostname(), "");
  }
}

TEST(ParseSyslogTest, RoutesOnlyPriThenOneSpace) {
  EXPECT_EQ(Syslog("<13>1 - h a - - - m").format(), v1::FORMAT_RFC5424);
  EXPECT_EQ(Syslog("<13>Nov 23 05:08:34 vm myapp: x").format(), v1::FORMAT_RFC3164);
  EXPECT_EQ(Syslog("<13>10 - h a - - - m").format(), v1::FORMAT_RFC3164);
  EXPECT_EQ(Syslog("<13>1- h a - - - m").format(), v1::FORMAT_RFC3164);
}

}  // namespace
}  // namespace trailkeep
