#include "common/event/json_writer.h"

#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace trailkeep {
namespace {

// What nlohmann writes for `s` with error_handler_t::replace: the contract.
std::string Nlohmann(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Written(const std::string& s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

TEST(JsonWriter, EscapesAsRfc8259WithShortForms) {
  EXPECT_EQ(Written("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(Written("\b\t\n\f\r"), R"("\b\t\n\f\r")");
  EXPECT_EQ(Written(std::string("\0\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(Written("\x7f/"), "\"\x7f/\"");  // DEL and '/' stay as they are
  EXPECT_EQ(Written(""), "\"\"");
}

TEST(JsonWriter, KeepsWellFormedUtf8) {
  // U+00E9, U+2028 (a line separator, legal in JSON), U+FFFF, U+10FFFF.
  const std::string s = "\xC3\xA9 \xE2\x80\xA8 \xEF\xBF\xBF \xF4\x8F\xBF\xBF";
  EXPECT_EQ(Written(s), "\"" + s + "\"");
}

TEST(JsonWriter, ReplacesInvalidUtf8AsNlohmannDoes) {
  const std::string kFffd = "\xEF\xBF\xBD";
  // A stray continuation byte and an invalid lead byte: one U+FFFD each.
  EXPECT_EQ(Written("a\x80z"), "\"a" + kFffd + "z\"");
  EXPECT_EQ(Written("\xC0\xAF"), "\"" + kFffd + kFffd + "\"");
  // A sequence broken by a byte: one U+FFFD, then the byte read again.
  EXPECT_EQ(Written("\xE2\x80\"x"), "\"" + kFffd + "\\\"x\"");
  // Cut short by the end of the string: one U+FFFD.
  EXPECT_EQ(Written("ab\xF0\x9F\x98"), "\"ab" + kFffd + "\"");
  // Surrogates, overlong forms and code points past U+10FFFF.
  for (const std::string s : {"\xED\xA0\x80", "\xE0\x80\xAF", "\xF0\x80\x80\xAF",
                              "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF"}) {
    EXPECT_EQ(Written(s), Nlohmann(s)) << testing::PrintToString(s);
  }
}

TEST(JsonWriter, MatchesNlohmannOnEveryShortByteString) {
  // Every string of one and two bytes, and every three-byte string over bytes
  // that matter to UTF-8 decoding.
  for (int a = 0; a < 256; ++a) {
    const std::string one(1, static_cast<char>(a));
    ASSERT_EQ(Written(one), Nlohmann(one)) << a;
    for (int b = 0; b < 256; ++b) {
      const std::string two = {static_cast<char>(a), static_cast<char>(b)};
      ASSERT_EQ(Written(two), Nlohmann(two)) << a << " " << b;
    }
  }
  const unsigned char kEdges[] = {0x00, 0x0A, 0x22, 0x41, 0x5C, 0x7F, 0x80, 0x8F, 0x90, 0x9F,
                                  0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED,
                                  0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
  for (unsigned char a : kEdges)
    for (unsigned char b : kEdges)
      for (unsigned char c : kEdges)
        for (unsigned char d : kEdges) {
          const std::string s = {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                                 static_cast<char>(d)};
          ASSERT_EQ(Written(s), Nlohmann(s)) << testing::PrintToString(s);
        }
}

TEST(JsonWriter, MatchesNlohmannOnRandomBytes) {
  std::mt19937 rng(20261206);
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 64, '\0');
    for (char& c : s) {
      // Mostly text, with UTF-8 lead and continuation bytes mixed in.
      const unsigned r = rng() % 8;
      c = static_cast<char>(r < 4   ? 0x20 + rng() % 0x60
                            : r < 6 ? 0x80 + rng() % 0x80
                                    : rng() % 256);
    }
    ASSERT_EQ(Written(s), Nlohmann(s)) << testing::PrintToString(s);
  }
}

TEST(JsonWriter, PlacesCommasAndWritesNumbers) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("a");
  w.Uint(18446744073709551615ull);
  w.Key("b");
  w.BeginArray();
  w.Int(-2147483648LL);
  w.Bool(true);
  w.Null();
  w.BeginObject();
  w.EndObject();
  w.BeginArray();
  w.EndArray();
  w.EndArray();
  w.Key("c");
  w.String("x\"");
  w.EndObject();
  EXPECT_EQ(out, R"({"a":18446744073709551615,"b":[-2147483648,true,null,{},[]],"c":"x\""})");
  EXPECT_EQ(nlohmann::json::parse(out).dump(), out);
}

}  // namespace
}  // namespace trailkeep
