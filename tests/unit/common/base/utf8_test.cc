#include "common/base/utf8.h"

#include <gtest/gtest.h>

namespace trailkeep {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii, long enough for the word-at-a-time scan"));
  EXPECT_TRUE(IsValidUtf8(std::string("nul\0inside", 10)));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x92"));  // é € 🔒
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));                               // U+D7FF
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));                           // U+10FFFF
}

TEST(Utf8Test, RefusesWhatRfc3629Forbids) {
  EXPECT_FALSE(IsValidUtf8("\xFF\xFE"));
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));          // overlong NUL
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("web-\xC3\x28"));      // bad continuation
  EXPECT_FALSE(IsValidUtf8("cut \xE2\x82"));      // truncated at the end
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
}

TEST(Utf8Test, EscapesOnlyTheBadBytes) {
  EXPECT_EQ(EscapeInvalidUtf8("/v1/hosts?\xFF\xFE"), "/v1/hosts?\\xFF\\xFE");
  EXPECT_EQ(EscapeInvalidUtf8("web-\xC3\x28"), "web-\\xC3(");
  EXPECT_EQ(EscapeInvalidUtf8("caf\xC3\xA9\xE2\x82"), "caf\xC3\xA9\\xE2\\x82");
  EXPECT_EQ(EscapeInvalidUtf8("clean"), "clean");
}

}  // namespace
}  // namespace trailkeep
