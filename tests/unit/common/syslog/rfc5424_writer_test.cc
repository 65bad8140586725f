// The RFC 5424 writer: header fitting, SD-NAME rules, PARAM-VALUE escaping,
// and that what it writes parses back to the same fields.

#include "common/syslog/rfc5424_writer.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "common/syslog/syslog_parser.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

using namespace std::string_literals;

std::string Escaped(std::string_view value) {
  std::string out;
  AppendSdParamValue(value, &out);
  return out;
}

v1::Event Parse(std::string_view message) {
  v1::Event e;
  std::string error;
  EXPECT_TRUE(ParseRfc5424(message, 1, &e, &error)) << error << "\n" << message;
  return e;
}

TEST(Rfc5424WriterTest, ParamValueEscapesQuoteBackslashAndBracketOnly) {
  EXPECT_EQ(Escaped(R"(a"b\c]d)"), R"(a\"b\\c\]d)");
  EXPECT_EQ(Escaped(R"(\")"), R"(\\\")");
  EXPECT_EQ(Escaped("[x=y z]"), R"([x=y z\])");  // '[', '=', SP need no escape
  EXPECT_EQ(Escaped("é\n\t\x01"), "é\n\t\x01");  // any other byte is kept
  EXPECT_EQ(Escaped(""), "");
  std::string out = "k=\"";
  AppendSdParamValue("]", &out);  // appends
  EXPECT_EQ(out, R"(k="\])");
}

TEST(Rfc5424WriterTest, SdNamesArePrintableAsciiButEqualsSpaceBracketQuote) {
  EXPECT_EQ(FitSdName("exampleSDID@32473"), "exampleSDID@32473");
  EXPECT_EQ(FitSdName("a=b c]d\"e"), "a_b_c_d_e");
  EXPECT_EQ(FitSdName("tab\tnl\ndel\x7f"), "tab_nl_del_");
  EXPECT_EQ(FitSdName("é"), "__");  // each byte of non-ASCII UTF-8
  EXPECT_EQ(FitSdName(""), "_");    // 1 to 32 bytes
  EXPECT_EQ(FitSdName(std::string(40, 'n')), std::string(32, 'n'));
  EXPECT_EQ(FitSdName("[x"), "[x");  // '[' is allowed in SD-NAME
}

TEST(Rfc5424WriterTest, HeaderFieldsStayWithinRfc5424) {
  EXPECT_EQ(FitHeaderField("", kMaxAppNameBytes), "-");
  EXPECT_EQ(FitHeaderField("my app\t\"x\"", kMaxAppNameBytes), "my_app__x_");
  EXPECT_EQ(FitHeaderField(std::string(100, 'a'), kMaxAppNameBytes).size(), 48u);
  EXPECT_EQ(FitHeaderField("host.example", kMaxHostnameBytes), "host.example");
}

TEST(Rfc5424WriterTest, WritesHeaderSdAndMsg) {
  std::string m;
  Rfc5424Writer(&m,
                {165, "2003-10-11T22:14:15.003Z", "mymachine.example.com", "evntslog", "", "ID47"})
      .Element("exampleSDID@32473")
      .Param("iut", "3")
      .Param("eventSource", "Application")
      .Element("examplePriority@32473")
      .Param("class", "high")
      .Msg("An application event");
  EXPECT_EQ(m,
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
            R"([exampleSDID@32473 iut="3" eventSource="Application"])"
            R"([examplePriority@32473 class="high"] An application event)");
}

TEST(Rfc5424WriterTest, NoElementIsNilSdAndEndLeavesMsgOut) {
  std::string m = "prefix:";
  Rfc5424Writer(&m, {13, "", "h", "a", "1", "M"}).End();
  EXPECT_EQ(m, "prefix:<13>1 - h a 1 M -");
  m.clear();
  Rfc5424Writer(&m, {13, "-", "h", "a", "1", "M"}).Msg("");
  EXPECT_EQ(m, "<13>1 - h a 1 M - ");  // SP and an empty MSG, as asked
  m.clear();
  Rfc5424Writer(&m, {13, "-", "h", "a", "1", "M"}).Serialized("").End();
  EXPECT_EQ(m, "<13>1 - h a 1 M -");
}

TEST(Rfc5424WriterTest, SerializedElementsFollowAndCloseTheOpenOne) {
  std::string extra;
  SdWriter sd(&extra);
  EXPECT_FALSE(sd.Close());
  sd.Element("orig-tk@32473").Param("x", "1]");
  EXPECT_TRUE(sd.Close());
  EXPECT_EQ(extra, R"([orig-tk@32473 x="1\]"])");

  std::string m;
  Rfc5424Writer(&m, {13, "-", "h", "a", "-", "-"})
      .Serialized(R"([tk@32473 e="1" m=""])")
      .Element("tkin@32473")
      .Param("name", "in")
      .Serialized(extra)
      .End();
  EXPECT_EQ(m, R"(<13>1 - h a - - [tk@32473 e="1" m=""][tkin@32473 name="in"])"
               R"([orig-tk@32473 x="1\]"])");
}

TEST(Rfc5424WriterTest, WhatItWritesParsesBackToTheSameFields) {
  const std::string hostile = "q\"b\\s]e\xC3\xA9 \\] end\\";
  std::string m;
  Rfc5424Writer(&m, {38, "2026-11-23T05:08:34.858884Z", "h\"ost name", "app", "42", "ID 1"})
      .Element("x@1")
      .Param("v", hostile)
      .Param("bad name=", "")
      .Msg("body é ]");
  const v1::Event e = Parse(m);
  EXPECT_EQ(e.pri(), 38);
  EXPECT_EQ(e.hostname(), "h_ost_name");
  EXPECT_EQ(e.procid(), "42");
  EXPECT_EQ(e.msgid(), "ID_1");
  ASSERT_EQ(e.structured_data_size(), 1);
  EXPECT_EQ(e.structured_data(0).id(), "x@1");
  ASSERT_EQ(e.structured_data(0).params_size(), 2);
  EXPECT_EQ(e.structured_data(0).params(0).value(), hostile);
  EXPECT_EQ(e.structured_data(0).params(1).name(), "bad_name_");
  EXPECT_EQ(e.structured_data(0).params(1).value(), "");
  EXPECT_EQ(e.msg(), "body é ]");
}

}  // namespace
}  // namespace trailkeep
