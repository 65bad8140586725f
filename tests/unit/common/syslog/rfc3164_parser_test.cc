// Legacy (RFC 3164 and real-world) syslog parsing, and ParseSyslog on inputs
// that are not syslog at all.

#include <cstdint>
#include <iterator>
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

// RFC 3339 text to UTC microseconds (ParseRfc3339 has its own tests).
int64_t Utc(std::string_view rfc3339) {
  int64_t utc_us = 0;
  int offset = 0;
  EXPECT_TRUE(ParseRfc3339(rfc3339, &utc_us, &offset)) << rfc3339;
  return utc_us;
}

v1::Event Bsd(std::string_view frame, int64_t receive_time_us = kReceiveUs) {
  v1::Event event;
  ParseRfc3164(frame, receive_time_us, &event);
  return event;
}

TEST(Rfc3164Test, DebianLoggerExample) {
  const v1::Event e = Bsd("<13>Nov 23 05:08:34 vm myapp: hello bsd");
  EXPECT_EQ(e.format(), v1::FORMAT_RFC3164);
  EXPECT_EQ(e.pri(), 13);
  EXPECT_EQ(e.version(), 0);
  EXPECT_EQ(e.timestamp_text(), "Nov 23 05:08:34");
  EXPECT_EQ(e.event_time_us(), Utc("2026-11-23T05:08:34Z"));
  EXPECT_TRUE(e.event_time_inferred());
  EXPECT_EQ(e.event_tz_offset_min(), 0);
  EXPECT_EQ(e.hostname(), "vm");
  EXPECT_EQ(e.app_name(), "myapp");
  EXPECT_EQ(e.procid(), "");
  EXPECT_EQ(e.msgid(), "");
  EXPECT_EQ(e.structured_data_size(), 0);
  EXPECT_EQ(e.msg(), "hello bsd");
}

TEST(Rfc3164Test, SpacePaddedAndSingleSpaceDay) {
  for (const char* frame :
       {"Aug  5 19:07:41 host prog[4242]: the msg", "Aug 5 19:07:41 host prog[4242]: the msg",
        "Aug 05 19:07:41 host prog[4242]: the msg"}) {
    SCOPED_TRACE(frame);
    const v1::Event e = Bsd(frame);
    EXPECT_EQ(e.pri(), -1);
    EXPECT_EQ(e.event_time_us(), Utc("2026-08-05T19:07:41Z"));
    EXPECT_EQ(e.hostname(), "host");
    EXPECT_EQ(e.app_name(), "prog");
    EXPECT_EQ(e.procid(), "4242");
    EXPECT_EQ(e.msg(), "the msg");
  }
  EXPECT_EQ(Bsd("Aug  5 19:07:41 h p: m").timestamp_text(), "Aug  5 19:07:41");
}

TEST(Rfc3164Test, IsoTimestampWithZone) {
  const v1::Event e = Bsd("2021-12-06T11:09:30.302105-05:00 api-1 top: top - 14:41:54 up 19 days");
  EXPECT_EQ(e.pri(), -1);
  EXPECT_EQ(e.timestamp_text(), "2021-12-06T11:09:30.302105-05:00");
  EXPECT_EQ(e.event_time_us(), Utc("2021-12-06T16:09:30.302105Z"));
  EXPECT_EQ(e.event_tz_offset_min(), -300);
  EXPECT_FALSE(e.event_time_inferred());
  EXPECT_EQ(e.hostname(), "api-1");
  EXPECT_EQ(e.app_name(), "top");
  EXPECT_EQ(e.msg(), "top - 14:41:54 up 19 days");
}

TEST(Rfc3164Test, LoggenLegacyIsoWithoutZone) {
  const v1::Event e = Bsd("<38>2026-11-23T05:12:21 localhost prg00000[1234]: seq: 0000000000");
  EXPECT_EQ(e.pri(), 38);
  EXPECT_EQ(e.timestamp_text(), "2026-11-23T05:12:21");
  EXPECT_EQ(e.event_time_us(), Utc("2026-11-23T05:12:21Z"));
  EXPECT_TRUE(e.event_time_inferred());  // no zone: read as UTC
  EXPECT_EQ(e.hostname(), "localhost");
  EXPECT_EQ(e.app_name(), "prg00000");
  EXPECT_EQ(e.procid(), "1234");
  EXPECT_EQ(e.msg(), "seq: 0000000000");
}

TEST(Rfc3164Test, IsoFractionLongerThanMicrosecondsIsTruncated) {
  const v1::Event e = Bsd("2021-03-14T18:21:25.123456789Z h t: m");
  EXPECT_EQ(e.event_time_us(), Utc("2021-03-14T18:21:25.123456Z"));
  EXPECT_FALSE(e.event_time_inferred());
  EXPECT_EQ(e.timestamp_text(), "2021-03-14T18:21:25.123456789Z");
}

TEST(Rfc3164Test, RsyslogForwardFormat) {
  const v1::Event e = Bsd("<30>2026-11-23T05:12:21.123456+01:00 web1 nginx[88]: GET /");
  EXPECT_EQ(e.event_time_us(), Utc("2026-11-23T04:12:21.123456Z"));
  EXPECT_EQ(e.event_tz_offset_min(), 60);
  EXPECT_EQ(e.procid(), "88");
}

TEST(Rfc3164Test, DevLogFormHasNoHostname) {
  v1::Event e = Bsd("<13>Nov 23 05:08:34 myapp: hello");
  EXPECT_EQ(e.hostname(), "");
  EXPECT_EQ(e.app_name(), "myapp");
  EXPECT_EQ(e.msg(), "hello");

  e = Bsd("<13>Nov 23 05:08:34 myapp[99]: hello");
  EXPECT_EQ(e.hostname(), "");
  EXPECT_EQ(e.app_name(), "myapp");
  EXPECT_EQ(e.procid(), "99");
  EXPECT_EQ(e.msg(), "hello");
}

TEST(Rfc3164Test, YearBeforeOrAfterTheTime) {
  v1::Event e = Bsd("Mar 14 2024 18:21:25 t117 sshd[11536]: x");
  EXPECT_EQ(e.event_time_us(), Utc("2024-03-14T18:21:25Z"));
  EXPECT_EQ(e.timestamp_text(), "Mar 14 2024 18:21:25");
  EXPECT_EQ(e.hostname(), "t117");

  e = Bsd("Mar 14 18:21:25 2024 t117 sshd[11536]: x");
  EXPECT_EQ(e.event_time_us(), Utc("2024-03-14T18:21:25Z"));
  EXPECT_EQ(e.timestamp_text(), "Mar 14 18:21:25 2024");
  EXPECT_EQ(e.hostname(), "t117");
  EXPECT_EQ(e.app_name(), "sshd");
  EXPECT_TRUE(e.event_time_inferred());  // still no zone
}

TEST(Rfc3164Test, FractionalBsdTimestamp) {
  const v1::Event e = Bsd("Nov 23 05:08:34.123 vm app: x");
  EXPECT_EQ(e.event_time_us(), Utc("2026-11-23T05:08:34.123Z"));
  EXPECT_EQ(e.hostname(), "vm");
}

TEST(Rfc3164Test, MonthNamesAreCaseInsensitive) {
  EXPECT_EQ(Bsd("NOV 23 05:08:34 vm app: x").event_time_us(), Utc("2026-11-23T05:08:34Z"));
  EXPECT_EQ(Bsd("nov 23 05:08:34 vm app: x").hostname(), "vm");
}

TEST(Rfc3164Test, YearInference) {
  struct Case {
    const char* receive;
    const char* stamp;
    const char* expected;
  };
  const Case cases[] = {
      {"2026-11-23T05:00:00Z", "Jul 23 14:49:34", "2026-07-23T14:49:34Z"},
      // December line received just after New Year: previous year.
      {"2027-01-02T00:00:00Z", "Dec 31 23:00:00", "2026-12-31T23:00:00Z"},
      // Sender slightly ahead across New Year: next year.
      {"2026-12-31T23:59:00Z", "Jan  1 00:00:30", "2027-01-01T00:00:30Z"},
      // Less than a month ahead stays in the receive year, more goes back one.
      {"2026-11-23T05:00:00Z", "Dec 20 10:00:00", "2026-12-20T10:00:00Z"},
      {"2026-11-23T05:00:00Z", "Dec 30 10:00:00", "2025-12-30T10:00:00Z"},
      // Feb 29 goes back to the latest leap year.
      {"2026-11-23T05:00:00Z", "Feb 29 12:00:00", "2024-02-29T12:00:00Z"},
      {"2028-03-01T00:00:00Z", "Feb 29 12:00:00", "2028-02-29T12:00:00Z"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.receive) + " " + c.stamp);
    const v1::Event e = Bsd(std::string(c.stamp) + " host app: m", Utc(c.receive));
    EXPECT_EQ(e.event_time_us(), Utc(c.expected));
    EXPECT_TRUE(e.event_time_inferred());
    EXPECT_EQ(e.hostname(), "host");
  }
}

TEST(Rfc3164Test, ImpossibleDateKeepsTextButUsesReceiveTime) {
  const v1::Event e = Bsd("Feb 30 10:00:00 host app: m");
  EXPECT_EQ(e.timestamp_text(), "Feb 30 10:00:00");
  EXPECT_EQ(e.event_time_us(), kReceiveUs);
  EXPECT_TRUE(e.event_time_inferred());
  EXPECT_EQ(e.parse_error(),
            "rfc3164: timestamp is not a valid date; event time is the receive time");
  EXPECT_EQ(e.hostname(), "host");
  EXPECT_EQ(e.msg(), "m");
}

TEST(Rfc3164Test, MissingTimestamp) {
  v1::Event e = Bsd("<13>hello world");
  EXPECT_EQ(e.pri(), 13);
  EXPECT_EQ(e.timestamp_text(), "");
  EXPECT_EQ(e.event_time_us(), kReceiveUs);
  EXPECT_TRUE(e.event_time_inferred());
  EXPECT_EQ(e.hostname(), "");
  EXPECT_EQ(e.app_name(), "");
  EXPECT_EQ(e.msg(), "hello world");
  EXPECT_EQ(e.parse_error(), "rfc3164: no timestamp; event time is the receive time");

  e = Bsd("<13>su[12]: session opened");
  EXPECT_EQ(e.hostname(), "");
  EXPECT_EQ(e.app_name(), "su");
  EXPECT_EQ(e.procid(), "12");
  EXPECT_EQ(e.msg(), "session opened");
}

TEST(Rfc3164Test, CleanTimestampsLeaveParseErrorEmpty) {
  for (const char* frame : {"<13>Nov 23 05:08:34 vm app: x", "Mar 14 2024 18:21:25 h a: x",
                            "2021-12-06T11:09:30Z h a: x", "<13>Nov 23 05:08:34 vm"}) {
    EXPECT_EQ(Bsd(frame).parse_error(), "") << frame;
  }
}

// ------------------------------------------------ network gear's header forms
// (whole device lines are in device_samples_test.cc; these pin the grammar)

TEST(Rfc3164Test, ColonAfterTheTimeWithAndWithoutYear) {
  v1::Event e = Bsd("<166>Oct 02 2012 14:45:21: %ASA-6-302013: Built");
  EXPECT_EQ(e.timestamp_text(), "Oct 02 2012 14:45:21");
  EXPECT_EQ(e.event_time_us(), Utc("2012-10-02T14:45:21Z"));
  EXPECT_EQ(e.hostname(), "");
  EXPECT_EQ(e.app_name(), "%ASA-6-302013");
  EXPECT_EQ(e.msg(), "Built");

  e = Bsd("<38>Mar 7 2008 19:06:53: host tag: message");
  EXPECT_EQ(e.event_time_us(), Utc("2008-03-07T19:06:53Z"));
  EXPECT_EQ(e.hostname(), "host");
  EXPECT_EQ(e.app_name(), "tag");
  EXPECT_EQ(e.msg(), "message");

  e = Bsd("<13>Nov 23 05:08:34: vm app[7]: x");
  EXPECT_EQ(e.timestamp_text(), "Nov 23 05:08:34");
  EXPECT_EQ(e.hostname(), "vm");
  EXPECT_EQ(e.procid(), "7");

  e = Bsd("2021-12-06T11:09:30Z: api-1 top: x");
  EXPECT_EQ(e.timestamp_text(), "2021-12-06T11:09:30Z");
  EXPECT_EQ(e.hostname(), "api-1");
  EXPECT_EQ(e.parse_error(), "");
}

TEST(Rfc3164Test, CiscoTagRightAfterTheTimeIsNotAHostname) {
  for (const char* frame : {"<166>Oct 02 2012 14:45:21 %ASA-6-302013: Built",
                            "<166>Oct 02 2012 14:45:21: %ASA-6-302013: Built",
                            "<189>Nov 14 08:30:56.699: %LINK-5-CHANGED: Built"}) {
    SCOPED_TRACE(frame);
    const v1::Event e = Bsd(frame);
    EXPECT_EQ(e.hostname(), "");
    EXPECT_EQ(e.app_name().substr(0, 1), "%");
    EXPECT_EQ(e.msg(), "Built");
  }
}

TEST(Rfc3164Test, HostnameBeforeACiscoTag) {
  for (const char* frame : {"<166>Oct 02 2012 14:45:21 fw : %ASA-6-302013: Built",
                            "<166>Oct 02 2012 14:45:21 fw: %ASA-6-302013: Built",
                            "<166>Oct 02 2012 14:45:21 fw %ASA-6-302013: Built"}) {
    SCOPED_TRACE(frame);
    const v1::Event e = Bsd(frame);
    EXPECT_EQ(e.hostname(), "fw");
    EXPECT_EQ(e.app_name(), "%ASA-6-302013");
    EXPECT_EQ(e.msg(), "Built");
  }
  // "TAG: text" stays a tag when no Cisco tag follows.
  const v1::Event e = Bsd("Nov 23 05:08:34 myapp: %not a cisco tag");
  EXPECT_EQ(e.hostname(), "");
  EXPECT_EQ(e.app_name(), "myapp");
  EXPECT_EQ(e.msg(), "%not a cisco tag");
}

TEST(Rfc3164Test, CiscoSequenceNumberAndOrigin) {
  struct Case {
    const char* frame;
    const char* hostname;
    const char* timestamp;
  };
  const Case cases[] = {
      {"<189>123: *Mar  1 18:46:11: %SYS-5-CONFIG_I: m", "", "*Mar  1 18:46:11"},
      {"<189>123: r1: *Mar  1 18:46:11: %SYS-5-CONFIG_I: m", "r1", "*Mar  1 18:46:11"},
      {"<189>r1: *Mar  1 18:46:11: %SYS-5-CONFIG_I: m", "r1", "*Mar  1 18:46:11"},
      {"<189>123: 2001:db8::1: Mar  1 18:46:11: %SYS-5-CONFIG_I: m", "2001:db8::1",
       "Mar  1 18:46:11"},
      {"<189>: 2020 Mar 01 18:46:11: %SYS-5-CONFIG_I: m", "", "2020 Mar 01 18:46:11"},
      {"<189> 123: Mar  1 18:46:11: %SYS-5-CONFIG_I: m", "", "Mar  1 18:46:11"},
      {"<189>123: r1: %SYS-5-CONFIG_I: m", "r1", ""},
      {"<189>123: %SYS-5-CONFIG_I: m", "", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.frame);
    const v1::Event e = Bsd(c.frame);
    EXPECT_EQ(e.pri(), 189);
    EXPECT_EQ(e.hostname(), c.hostname);
    EXPECT_EQ(e.timestamp_text(), c.timestamp);
    EXPECT_EQ(e.app_name(), "%SYS-5-CONFIG_I");
    EXPECT_EQ(e.msg(), "m");
  }
}

TEST(Rfc3164Test, NumbersAndColonsWithoutCiscoAnchorsStayAsTheyWere) {
  v1::Event e = Bsd("<13>12: hello");
  EXPECT_EQ(e.app_name(), "12");
  EXPECT_EQ(e.msg(), "hello");
  EXPECT_EQ(e.parse_error(), "rfc3164: no timestamp; event time is the receive time");

  e = Bsd("<13>host: app: hello");
  EXPECT_EQ(e.hostname(), "");
  EXPECT_EQ(e.app_name(), "host");
  EXPECT_EQ(e.msg(), "app: hello");
}

TEST(Rfc3164Test, CiscoMillisecondsZoneAndClockMarks) {
  // UTC is a zone: with a year nothing is inferred.
  v1::Event e = Bsd("<189>1: *Mar  1 2021 18:46:11.123 UTC: %SYS-5-CONFIG_I: m");
  EXPECT_EQ(e.timestamp_text(), "*Mar  1 2021 18:46:11.123 UTC");
  EXPECT_EQ(e.event_time_us(), Utc("2021-03-01T18:46:11.123Z"));
  EXPECT_FALSE(e.event_time_inferred());
  EXPECT_EQ(e.parse_error(), "");

  // Without a year it is chosen, so the time is inferred even with UTC.
  e = Bsd("<189>1: .Mar  1 18:46:11.123 GMT: %SYS-5-CONFIG_I: m");
  EXPECT_EQ(e.event_time_us(), Utc("2026-03-01T18:46:11.123Z"));
  EXPECT_TRUE(e.event_time_inferred());

  // Other names are the admin's (`clock timezone`): kept, time read as UTC.
  e = Bsd("<189>1: Mar  1 2021 18:46:11.123 CEST: %SYS-5-CONFIG_I: m");
  EXPECT_EQ(e.timestamp_text(), "Mar  1 2021 18:46:11.123 CEST");
  EXPECT_EQ(e.event_time_us(), Utc("2021-03-01T18:46:11.123Z"));
  EXPECT_EQ(e.event_tz_offset_min(), 0);
  EXPECT_TRUE(e.event_time_inferred());
}

TEST(Rfc3164Test, ZoneNamesOnlyBeforeACiscoTag) {
  // An upper-case tag after the time is not a zone.
  v1::Event e = Bsd("Nov 23 05:08:34 CRON: x");
  EXPECT_EQ(e.timestamp_text(), "Nov 23 05:08:34");
  EXPECT_EQ(e.app_name(), "CRON");
  EXPECT_EQ(e.msg(), "x");

  e = Bsd("Nov 23 05:08:34 UTC host app: x");
  EXPECT_EQ(e.timestamp_text(), "Nov 23 05:08:34");
  EXPECT_EQ(e.hostname(), "UTC");
}

TEST(Rfc3164Test, NxosTimestamp) {
  v1::Event e = Bsd("<190>2018 Apr 20 13:15:07 nexus %ETHPORT-5-IF_DOWN_LINK_FAILURE: down");
  EXPECT_EQ(e.timestamp_text(), "2018 Apr 20 13:15:07");
  EXPECT_EQ(e.event_time_us(), Utc("2018-04-20T13:15:07Z"));
  EXPECT_TRUE(e.event_time_inferred());
  EXPECT_EQ(e.hostname(), "nexus");
  EXPECT_EQ(e.app_name(), "%ETHPORT-5-IF_DOWN_LINK_FAILURE");

  e = Bsd("<190>2018 Apr  2 13:15:07.250 UTC: %ETHPORT-5-IF_UP: up");
  EXPECT_EQ(e.event_time_us(), Utc("2018-04-02T13:15:07.250Z"));
  EXPECT_FALSE(e.event_time_inferred());
}

TEST(Rfc3164Test, CiscoUptimeIsNotADate) {
  for (const char* frame :
       {"<189>58: 00:02:58: %LINK-5-CHANGED: m", "<189>00:02:58.123: %LINK-5-CHANGED: m",
        "<189>58: 1d02h: %LINK-5-CHANGED: m", "<189>58: 20w2d: %LINK-5-CHANGED: m"}) {
    SCOPED_TRACE(frame);
    const v1::Event e = Bsd(frame);
    EXPECT_FALSE(e.timestamp_text().empty());
    EXPECT_EQ(e.event_time_us(), kReceiveUs);
    EXPECT_TRUE(e.event_time_inferred());
    EXPECT_EQ(e.app_name(), "%LINK-5-CHANGED");
    EXPECT_EQ(e.msg(), "m");
    EXPECT_EQ(e.parse_error(),
              "rfc3164: timestamp is the sender's uptime, not a date; event time is the receive "
              "time");
  }
  // Only before a Cisco tag: elsewhere a clock alone is no timestamp.
  const v1::Event e = Bsd("<13>00:02:58: something");
  EXPECT_EQ(e.timestamp_text(), "");
}

TEST(Rfc3164Test, UnreadableTimestampIsReported) {
  for (const char* frame : {"<13>Nov 23 5:08:34 vm app: x", "<13>Nov 23 05:08 vm app: x",
                            "<13>2021-12-06 11:09:30 vm app: x", "<13>*Nov 23 25h vm app: x",
                            "<13>2018 Apr 20 13:15 nexus x"}) {
    SCOPED_TRACE(frame);
    const v1::Event e = Bsd(frame);
    EXPECT_EQ(e.timestamp_text(), "");
    EXPECT_EQ(e.event_time_us(), kReceiveUs);
    EXPECT_EQ(e.parse_error(), "rfc3164: unreadable timestamp; event time is the receive time");
    EXPECT_EQ(e.msg(), std::string(frame).substr(4));
  }
}

TEST(Rfc3164Test, TimeThatCannotBePlacedIsReported) {
  v1::Event e;
  ParseRfc3164("Nov 23 05:08:34 vm app: x", INT64_MAX, &e);
  EXPECT_EQ(e.event_time_us(), INT64_MAX);
  EXPECT_FALSE(e.parse_error().empty());
}

TEST(Rfc3164Test, CsvAndKeyValueBodiesAreNeitherHostNorTag) {
  // PAN-OS without "Send Hostname in Syslog".
  v1::Event e = Bsd("<14>Jul 14 11:22:30 1,2019/07/14 11:22:30,0039,SYSTEM,auth");
  EXPECT_EQ(e.hostname(), "");
  EXPECT_EQ(e.app_name(), "");
  EXPECT_EQ(e.msg(), "1,2019/07/14 11:22:30,0039,SYSTEM,auth");
  // PAN-OS with it.
  e = Bsd("<14>Jul 14 11:22:30 pa1 1,2019/07/14 11:22:30,0039,SYSTEM,auth");
  EXPECT_EQ(e.hostname(), "pa1");
  EXPECT_EQ(e.app_name(), "");
  EXPECT_EQ(e.msg(), "1,2019/07/14 11:22:30,0039,SYSTEM,auth");
  // FortiOS relayed by a BSD syslogd that added only a time.
  e = Bsd("Feb 20 12:31:11 date=2011-02-20 time=12:31:09 devname=fw1 type=event");
  EXPECT_EQ(e.hostname(), "");
  EXPECT_EQ(e.app_name(), "");
  EXPECT_EQ(e.msg(), "date=2011-02-20 time=12:31:09 devname=fw1 type=event");
}

TEST(Rfc3164Test, FortiosKeyValueLine) {
  v1::Event e = Bsd("<189>date=2019-04-04 time=09:19:21 devname=fw01 type=traffic");
  EXPECT_EQ(e.format(), v1::FORMAT_RFC3164);
  EXPECT_EQ(e.timestamp_text(), "date=2019-04-04 time=09:19:21");
  EXPECT_EQ(e.event_time_us(), Utc("2019-04-04T09:19:21Z"));
  EXPECT_TRUE(e.event_time_inferred());
  EXPECT_EQ(e.hostname(), "fw01");
  EXPECT_EQ(e.app_name(), "");
  EXPECT_EQ(e.msg(), "date=2019-04-04 time=09:19:21 devname=fw01 type=traffic");
  EXPECT_EQ(e.parse_error(), "");

  // Quoted values and a tz field (FortiOS 6.2 and later).
  e = Bsd("<189>date=\"2019-04-04\" time=\"09:19:21\" devname=\"fw 01\" tz=\"+0530\"");
  EXPECT_EQ(e.event_time_us(), Utc("2019-04-04T03:49:21Z"));
  EXPECT_EQ(e.event_tz_offset_min(), 330);
  EXPECT_FALSE(e.event_time_inferred());
  EXPECT_EQ(e.hostname(), "");  // not a host name: has a space

  // A date FortiOS could not have written.
  e = Bsd("<189>date=2019-02-30 time=09:19:21 devname=fw01");
  EXPECT_EQ(e.event_time_us(), kReceiveUs);
  EXPECT_EQ(e.parse_error(),
            "rfc3164: timestamp is not a valid date; event time is the receive time");
}

TEST(Rfc3164Test, SpaceAfterPri) {
  const v1::Event e = Bsd("<13> Nov 23 05:08:34 vm app: x");
  EXPECT_EQ(e.timestamp_text(), "Nov 23 05:08:34");
  EXPECT_EQ(e.hostname(), "vm");
  EXPECT_EQ(Bsd("<13>  no timestamp").msg(), "  no timestamp");
}

TEST(Rfc3164Test, TrailingNulCrLfAreStripped) {
  const v1::Event e = Bsd("<13>Nov 23 05:08:34 vm app: hi\r\n\0\0"s);
  EXPECT_EQ(e.msg(), "hi");
}

TEST(Rfc3164Test, OutOfRangePriIsSkipped) {
  const v1::Event e = Bsd("<200>Nov 23 05:08:34 vm app: x");
  EXPECT_EQ(e.pri(), -1);
  EXPECT_EQ(e.hostname(), "vm");
  EXPECT_EQ(e.msg(), "x");
}

TEST(Rfc3164Test, TagCharacters) {
  v1::Event e = Bsd("Nov 23 05:08:34 vm /usr/local/sbin/opensips[35710]: ACC: call ended");
  EXPECT_EQ(e.app_name(), "/usr/local/sbin/opensips");
  EXPECT_EQ(e.procid(), "35710");
  EXPECT_EQ(e.msg(), "ACC: call ended");

  e = Bsd("Nov 23 05:08:34 vm my.app_v-2: x");
  EXPECT_EQ(e.app_name(), "my.app_v-2");

  e = Bsd("Nov 23 05:08:34 vm sudo: admin : TTY=pts/0 ; USER=root");
  EXPECT_EQ(e.app_name(), "sudo");
  EXPECT_EQ(e.msg(), "admin : TTY=pts/0 ; USER=root");

  e = Bsd("Nov 23 05:08:34 vm kernel no colon here");
  EXPECT_EQ(e.app_name(), "kernel");
  EXPECT_EQ(e.msg(), "no colon here");

  e = Bsd("Nov 23 05:08:34 vm app:no-space");
  EXPECT_EQ(e.app_name(), "app");
  EXPECT_EQ(e.msg(), "no-space");
}

TEST(Rfc3164Test, WhatIsNotATagStaysInMsg) {
  v1::Event e = Bsd("Nov 23 05:08:34 vm " + std::string(49, 't') + ": long tag");
  EXPECT_EQ(e.app_name(), "");
  EXPECT_EQ(e.msg(), std::string(49, 't') + ": long tag");

  e = Bsd("Nov 23 05:08:34 vm app[no close: x");
  EXPECT_EQ(e.app_name(), "");
  EXPECT_EQ(e.msg(), "app[no close: x");

  e = Bsd("Nov 23 05:08:34 vm caf\xC3\xA9: x");
  EXPECT_EQ(e.app_name(), "");
  EXPECT_EQ(e.msg(), "caf\xC3\xA9: x");
  ExpectRoundTrips(e);
}

TEST(Rfc3164Test, NonAsciiHostnameIsNotTaken) {
  const v1::Event e = Bsd("<13>Nov 23 05:08:34 h\xFF app: x");
  EXPECT_EQ(e.hostname(), "");
  EXPECT_EQ(e.msg(), "h\xFF app: x");
  ExpectRoundTrips(e);
}

TEST(Rfc3164Test, HostnameOnly) {
  const v1::Event e = Bsd("<13>Nov 23 05:08:34 vm");
  EXPECT_EQ(e.hostname(), "vm");
  EXPECT_EQ(e.app_name(), "");
  EXPECT_EQ(e.msg(), "");
}

TEST(Rfc3164Test, MsgKeepsArbitraryBytes) {
  const std::string msg = "a\x00\xFF\x80z"s;
  const v1::Event e = Bsd("<13>Nov 23 05:08:34 vm app: " + msg);
  EXPECT_EQ(e.msg(), msg);
  ExpectRoundTrips(e);
}

// ------------------------------------------------------ ParseSyslog routing

TEST(ParseSyslogLegacyTest, WithoutPriOrTimestampIsUnparsed) {
  for (const std::string& frame : {"garbage"s, ""s, "x"s, "host app: msg"s, "\x00\xFF"s}) {
    const v1::Event e = Syslog(frame);
    EXPECT_EQ(e.format(), v1::FORMAT_UNPARSED);
    EXPECT_EQ(e.msg(), frame);
    EXPECT_EQ(e.pri(), -1);
    EXPECT_EQ(e.hostname(), "");
    EXPECT_EQ(e.app_name(), "");
    EXPECT_TRUE(e.event_time_inferred());
    EXPECT_EQ(e.event_time_us(), kReceiveUs);
    EXPECT_FALSE(e.parse_error().empty());
  }
}

TEST(ParseSyslogLegacyTest, PriOrTimestampIsEnoughForRfc3164) {
  EXPECT_EQ(Syslog("<13>hello").format(), v1::FORMAT_RFC3164);
  EXPECT_EQ(Syslog("Nov 23 05:08:34 vm app: x").format(), v1::FORMAT_RFC3164);
  EXPECT_EQ(Syslog("Nov 23 05:08:34 vm app: x").parse_error(), "");
  EXPECT_EQ(Syslog("2021-12-06T11:09:30Z api-1 top: x").format(), v1::FORMAT_RFC3164);
}

// ------------------------------------------------------------- robustness

// Whatever the bytes, ParseSyslog returns a storable event.
void CheckAnyInput(std::string_view frame) {
  v1::Event e;
  ParseSyslog(frame, kReceiveUs, &e);
  ASSERT_NE(e.format(), v1::FORMAT_UNSPECIFIED);
  if (e.format() == v1::FORMAT_UNPARSED) {
    ASSERT_EQ(e.msg(), frame);
  }
  ASSERT_GE(e.pri(), -1);
  ASSERT_LE(e.pri(), 191);
  std::string bytes;
  ASSERT_TRUE(e.SerializeToString(&bytes));
  v1::Event copy;
  ASSERT_TRUE(copy.ParseFromString(bytes)) << "frame of " << frame.size() << " bytes";
}

TEST(RobustnessTest, EveryOneAndTwoByteFrame) {
  CheckAnyInput("");
  for (int a = 0; a < 256; ++a) {
    const char ca = static_cast<char>(a);
    CheckAnyInput(std::string_view(&ca, 1));
    for (int b = 0; b < 256; ++b) {
      const char two[2] = {ca, static_cast<char>(b)};
      CheckAnyInput(std::string_view(two, 2));
    }
  }
}

TEST(RobustnessTest, EveryByteAfterEachPrefix) {
  const std::string prefixes[] = {"<",
                                  "<13>",
                                  "<13>1 ",
                                  "<13>1 - ",
                                  "<13>1 - h a p m ",
                                  "<13>1 - h a p m [",
                                  "<13>1 - h a p m [a b=\"",
                                  "<13>1 - h a p m [a b=\"\\",
                                  "<13>Nov 23 05:08:34 ",
                                  "<13>Nov 23 05:08:34 vm ",
                                  "<13>Nov 23 05:08:34 vm app[",
                                  "2021-12-06T11:09:30.",
                                  "Feb 29 ",
                                  "<189>123: ",
                                  "<189>123: r1: *Mar  1 18:46:11.123 ",
                                  "<189>2018 Apr 20 13:15:07 UTC",
                                  "<189>58: 1d02h",
                                  "<166>Oct 02 2012 14:45:21: %ASA-6-",
                                  "<189>date=2019-04-04 time=09:19:21 tz=\""};
  for (const std::string& prefix : prefixes) {
    for (int b = 0; b < 256; ++b) {
      const std::string frame = prefix + static_cast<char>(b);
      CheckAnyInput(frame);
      CheckAnyInput(frame + " x");
    }
  }
}

TEST(RobustnessTest, EveryTruncationOfValidMessages) {
  const std::string messages[] = {
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
      "iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 "
      "class=\"high\"] \xEF\xBB\xBFmsg\n",
      "<13>Nov 23 05:08:34 vm myapp[12]: hello bsd\r\n",
      "<38>2026-11-23T05:12:21.123456+01:00 localhost prg00000[1234]: seq",
      "Mar 14 18:21:25 2024 t117-dut1.openstacklocal sshd[11536]: Failed password",
      "<189>1179: NetAuto_CSRv-03: May 31 15:25:53.743 MEST: %LINK-5-CHANGED: Interface Gi2",
      "<190>sw01.pdx01: 2017 Jul 28 14:42:46 UTC: %AUTHPRIV-6-SYSTEM_MSG: pam_unix(sshd)",
      "<185>date=2018-12-27 time=11:15:40 devname=\"FGT-A\" tz=\"-0800\" msg=\"x\"",
  };
  for (const std::string& message : messages) {
    for (size_t len = 0; len <= message.size(); ++len) CheckAnyInput(message.substr(0, len));
  }
}

TEST(RobustnessTest, PseudoRandomBuffers) {
  // Deterministic LCG over an alphabet rich in syntax bytes, plus raw bytes.
  const std::string alphabet =
      "<>0123456789 -[]=\"\\:TZ.+JanFebNovDec\n\r\x00\xEF\xBB\xBF\xFF\xC3\xA9"s;
  uint64_t state = 0x9E3779B97F4A7C15u;
  const auto next = [&state]() {
    state = state * 6364136223846793005u + 1442695040888963407u;
    return static_cast<uint32_t>(state >> 33);
  };
  const std::string seeds[] = {"<13>1 ",
                               "<13>",
                               "",
                               "Nov 23 05:08:34 ",
                               "2021-12-06T11:09:30Z ",
                               "<189>12: *Mar  1 ",
                               "<189>date=2019-04-04 time=09:19:21 "};
  for (int i = 0; i < 20000; ++i) {
    std::string frame = seeds[next() % std::size(seeds)];
    const size_t len = next() % 120;
    for (size_t k = 0; k < len; ++k) {
      frame.push_back(next() % 4 == 0 ? static_cast<char>(next() & 0xFF)
                                      : alphabet[next() % alphabet.size()]);
    }
    CheckAnyInput(frame);
  }
}

TEST(RobustnessTest, ExtremeReceiveTimes) {
  for (const int64_t receive : {INT64_MIN, int64_t{-1}, int64_t{0}, INT64_MAX}) {
    for (const char* frame : {"<13>Nov 23 05:08:34 vm app: x", "<13>1 - h a - - - m",
                              "<13>1 2016-12-31T23:59:60Z h a - - - m", "junk"}) {
      v1::Event e;
      ParseSyslog(frame, receive, &e);
      EXPECT_NE(e.format(), v1::FORMAT_UNSPECIFIED);
      if (e.event_time_inferred() && e.timestamp_text().size() <= 1) {
        EXPECT_EQ(e.event_time_us(), receive);
      }
    }
  }
  // A year-less timestamp with a receive time outside years 0..9999 keeps the receive time.
  v1::Event e;
  ParseRfc3164("Nov 23 05:08:34 vm app: x", INT64_MAX, &e);
  EXPECT_EQ(e.event_time_us(), INT64_MAX);
}

TEST(RobustnessTest, LongFrames) {
  CheckAnyInput(std::string(100000, '<'));
  CheckAnyInput("<13>1 - - - - - [" + std::string(100000, 'a'));
  CheckAnyInput("<13>1 - - - - - [a b=\"" + std::string(100000, '\\'));
  CheckAnyInput("<13>Nov 23 05:08:34 " + std::string(100000, 'h'));
  CheckAnyInput("<13>Nov 23 05:08:34 vm app[" + std::string(100000, '1'));
}

}  // namespace
}  // namespace trailkeep
