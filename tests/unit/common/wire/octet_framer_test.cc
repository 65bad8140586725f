#include "common/wire/octet_framer.h"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace trailkeep {
namespace {

using Kind = OctetFramer::Kind;
using Result = OctetFramer::Result;

constexpr size_t kMax = 64 * 1024;

struct Frame {
  std::string bytes;
  Kind kind;
};

// Drains every complete frame; returns the result that stopped the loop.
Result Drain(OctetFramer* framer, std::vector<Frame>* frames) {
  while (true) {
    std::string_view frame;
    Kind kind = Kind::kLine;
    const Result result = framer->Next(&frame, &kind);
    if (result != Result::kFrame) return result;
    frames->push_back({std::string(frame), kind});
  }
}

std::vector<Frame> FramesOf(std::string_view stream, size_t max = kMax) {
  OctetFramer framer(max);
  framer.Feed(stream);
  std::vector<Frame> frames;
  EXPECT_EQ(Drain(&framer, &frames), Result::kNeedMore) << framer.error();
  return frames;
}

TEST(OctetFramerTest, EmptyBufferNeedsMore) {
  OctetFramer framer(kMax);
  std::string_view frame;
  Kind kind;
  EXPECT_EQ(framer.Next(&frame, &kind), Result::kNeedMore);
  EXPECT_TRUE(framer.Pending().empty());
}

TEST(OctetFramerTest, OctetCountedFrame) {
  const auto frames = FramesOf("11 <13>1 hello");
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].bytes, "<13>1 hello");
  EXPECT_EQ(frames[0].kind, Kind::kOctetCounted);
}

TEST(OctetFramerTest, OctetCountedFrameKeepsTrailingLfAndEmbeddedLf) {
  // rsyslog and loggen -P count the trailing LF; the framer keeps it for the parser.
  const auto frames = FramesOf("14 line1\nline2 x\n");
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].bytes, "line1\nline2 x\n");
}

TEST(OctetFramerTest, LfTerminatedLines) {
  const auto frames = FramesOf("<13>a\n<14>b\n");
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].bytes, "<13>a");
  EXPECT_EQ(frames[0].kind, Kind::kLine);
  EXPECT_EQ(frames[1].bytes, "<14>b");
}

TEST(OctetFramerTest, CrLfIsStripped) {
  const auto frames = FramesOf("<13>a\r\n");
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].bytes, "<13>a");
}

TEST(OctetFramerTest, EmptyLineIsAnEmptyFrame) {
  const auto frames = FramesOf("\n");
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].bytes, "");
}

TEST(OctetFramerTest, IsoTimestampedLineStartingWithDigitsIsALine) {
  const std::string line = "2021-12-06T11:09:30.302105-05:00 api-1 top: x";
  const auto frames = FramesOf(line + "\n");
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].bytes, line);
  EXPECT_EQ(frames[0].kind, Kind::kLine);
}

TEST(OctetFramerTest, MixedFramingPerFrame) {
  const auto frames = FramesOf("5 hello<13>line\n3 abc2021-01-01T00:00:00Z h t: m\n");
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[0].bytes, "hello");
  EXPECT_EQ(frames[0].kind, Kind::kOctetCounted);
  EXPECT_EQ(frames[1].bytes, "<13>line");
  EXPECT_EQ(frames[1].kind, Kind::kLine);
  EXPECT_EQ(frames[2].bytes, "abc");
  EXPECT_EQ(frames[3].bytes, "2021-01-01T00:00:00Z h t: m");
  EXPECT_EQ(frames[3].kind, Kind::kLine);
}

TEST(OctetFramerTest, TwoFramesInOneFeed) {
  const auto frames = FramesOf("3 abc4 defg");
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].bytes, "abc");
  EXPECT_EQ(frames[1].bytes, "defg");
}

// Feeding the stream in two pieces, split at every offset, yields the same frames.
TEST(OctetFramerTest, SplitAtEveryOffset) {
  const std::string real_stream =
      "24 <13>1 - - - - - - hello\n<14>line two\r\n26 abcdefghijklmnopqrstuvwxyz"
      "2021-12-06T11:09:30Z h t: iso\n";
  const auto expected = FramesOf(real_stream);
  ASSERT_EQ(expected.size(), 4u);
  EXPECT_EQ(expected[0].bytes, "<13>1 - - - - - - hello\n");
  EXPECT_EQ(expected[1].bytes, "<14>line two");
  EXPECT_EQ(expected[2].bytes, "abcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(expected[3].bytes, "2021-12-06T11:09:30Z h t: iso");

  for (size_t cut = 0; cut <= real_stream.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    OctetFramer framer(kMax);
    std::vector<Frame> frames;
    framer.Feed(std::string_view(real_stream).substr(0, cut));
    ASSERT_EQ(Drain(&framer, &frames), Result::kNeedMore);
    framer.Feed(std::string_view(real_stream).substr(cut));
    ASSERT_EQ(Drain(&framer, &frames), Result::kNeedMore);
    ASSERT_EQ(frames.size(), expected.size());
    for (size_t i = 0; i < frames.size(); ++i) {
      EXPECT_EQ(frames[i].bytes, expected[i].bytes);
      EXPECT_EQ(frames[i].kind, expected[i].kind);
    }
    EXPECT_TRUE(framer.Pending().empty());
  }
}

TEST(OctetFramerTest, ByteAtATime) {
  const std::string stream = "11 <13>1 hello<14>x\n";
  OctetFramer framer(kMax);
  std::vector<Frame> frames;
  for (char c : stream) {
    framer.Feed(std::string_view(&c, 1));
    ASSERT_EQ(Drain(&framer, &frames), Result::kNeedMore);
  }
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].bytes, "<13>1 hello");
  EXPECT_EQ(frames[1].bytes, "<14>x");
}

TEST(OctetFramerTest, CountSplitAcrossFeeds) {
  OctetFramer framer(kMax);
  std::vector<Frame> frames;
  framer.Feed("1");
  EXPECT_EQ(Drain(&framer, &frames), Result::kNeedMore);
  framer.Feed("2");
  EXPECT_EQ(Drain(&framer, &frames), Result::kNeedMore);
  framer.Feed(" hello world!");
  EXPECT_EQ(Drain(&framer, &frames), Result::kNeedMore);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].bytes, "hello world!");
}

TEST(OctetFramerTest, PartialFrameStaysPending) {
  OctetFramer framer(kMax);
  std::vector<Frame> frames;
  framer.Feed("3 abc20 only part");
  EXPECT_EQ(Drain(&framer, &frames), Result::kNeedMore);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(framer.Pending(), "20 only part");

  OctetFramer lines(kMax);
  lines.Feed("<13>a\n<13>half a li");
  frames.clear();
  EXPECT_EQ(Drain(&lines, &frames), Result::kNeedMore);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(lines.Pending(), "<13>half a li");
}

TEST(OctetFramerTest, CountAboveMaximumIsAnError) {
  OctetFramer framer(100);
  framer.Feed("101 ");
  std::string_view frame;
  Kind kind;
  EXPECT_EQ(framer.Next(&frame, &kind), Result::kError);
  EXPECT_NE(framer.error().find("101"), std::string::npos) << framer.error();
  EXPECT_NE(framer.error().find("maximum"), std::string::npos) << framer.error();
  // Errors are terminal, even if valid bytes follow.
  framer.Feed("3 abc");
  EXPECT_EQ(framer.Next(&frame, &kind), Result::kError);
}

TEST(OctetFramerTest, CountAtMaximumIsAccepted) {
  const auto frames = FramesOf("5 abcde", 5);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].bytes, "abcde");
}

TEST(OctetFramerTest, ElevenDigitCountIsAnError) {
  OctetFramer framer(kMax);
  framer.Feed("12345678901 x");
  std::string_view frame;
  Kind kind;
  EXPECT_EQ(framer.Next(&frame, &kind), Result::kError);
  EXPECT_NE(framer.error().find("digits"), std::string::npos) << framer.error();
}

TEST(OctetFramerTest, ElevenDigitsWithoutSpaceYetIsAnError) {
  OctetFramer framer(kMax);
  framer.Feed("12345678901");
  std::string_view frame;
  Kind kind;
  EXPECT_EQ(framer.Next(&frame, &kind), Result::kError);
}

TEST(OctetFramerTest, LeadingZeroCountIsAnError) {
  OctetFramer framer(kMax);
  framer.Feed("05 hello");
  std::string_view frame;
  Kind kind;
  EXPECT_EQ(framer.Next(&frame, &kind), Result::kError);
  EXPECT_NE(framer.error().find("leading zero"), std::string::npos) << framer.error();
}

TEST(OctetFramerTest, ZeroCountIsAnError) {
  OctetFramer framer(kMax);
  framer.Feed("0 hello\n");
  std::string_view frame;
  Kind kind;
  EXPECT_EQ(framer.Next(&frame, &kind), Result::kError);
  EXPECT_NE(framer.error().find("zero"), std::string::npos) << framer.error();
}

TEST(OctetFramerTest, EndlessZerosAreBounded) {
  // Before the fix a run of '0' digits waited for a SP forever, past any maximum.
  OctetFramer framer(16);
  framer.Feed(std::string(64, '0'));
  std::string_view frame;
  Kind kind;
  EXPECT_EQ(framer.Next(&frame, &kind), Result::kError);
}

TEST(OctetFramerTest, LineStartingWithZeroIsALine) {
  const auto frames = FramesOf("0abc\n0\n");
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].bytes, "0abc");
  EXPECT_EQ(frames[1].bytes, "0");
}

TEST(OctetFramerTest, LongLineWithoutLfIsAnError) {
  OctetFramer framer(16);
  framer.Feed("<13>0123456789ab");  // exactly 16: still waiting
  std::string_view frame;
  Kind kind;
  EXPECT_EQ(framer.Next(&frame, &kind), Result::kNeedMore);
  framer.Feed("c");
  EXPECT_EQ(framer.Next(&frame, &kind), Result::kError);
  EXPECT_NE(framer.error().find("without LF"), std::string::npos) << framer.error();
}

TEST(OctetFramerTest, LongLineWithLfIsAnError) {
  OctetFramer framer(4);
  framer.Feed("<13>abc\n");
  std::string_view frame;
  Kind kind;
  EXPECT_EQ(framer.Next(&frame, &kind), Result::kError);
  EXPECT_NE(framer.error().find("exceeds"), std::string::npos) << framer.error();
}

TEST(OctetFramerTest, FramesBeforeAnErrorAreReturnedFirst) {
  OctetFramer framer(kMax);
  framer.Feed("3 abc<13>line\n05 bad");
  std::vector<Frame> frames;
  EXPECT_EQ(Drain(&framer, &frames), Result::kError);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].bytes, "abc");
  EXPECT_EQ(frames[1].bytes, "<13>line");
  EXPECT_FALSE(framer.error().empty());
}

TEST(OctetFramerTest, LargeStreamCompactsAndKeepsFramesIntact) {
  // Many frames through one framer exercise the buffer compaction.
  OctetFramer framer(kMax);
  std::vector<Frame> frames;
  std::string expected_last;
  for (int i = 0; i < 2000; ++i) {
    const std::string msg = "<13>1 - - - - - - message " + std::to_string(i);
    const std::string framed = OctetCounted(msg);
    // Feed in uneven pieces so frames straddle Feed() calls.
    framer.Feed(std::string_view(framed).substr(0, 7));
    ASSERT_NE(Drain(&framer, &frames), Result::kError);
    framer.Feed(std::string_view(framed).substr(7));
    ASSERT_NE(Drain(&framer, &frames), Result::kError);
    expected_last = msg;
  }
  ASSERT_EQ(frames.size(), 2000u);
  EXPECT_EQ(frames[0].bytes, "<13>1 - - - - - - message 0");
  EXPECT_EQ(frames.back().bytes, expected_last);
  EXPECT_TRUE(framer.Pending().empty());
}

TEST(OctetCountedTest, CountsBytesNotCharacters) {
  EXPECT_EQ(OctetCounted("x"), "1 x");
  EXPECT_EQ(OctetCounted("\xC3\xA9"), "2 \xC3\xA9");                  // é: 1 character, 2 bytes
  EXPECT_EQ(OctetCounted("\xE2\x82\xAC!"), "4 \xE2\x82\xAC!");        // €!
  EXPECT_EQ(OctetCounted("\xF0\x9F\x94\x92"), "4 \xF0\x9F\x94\x92");  // 🔒
  EXPECT_EQ(OctetCounted("\xFF\n"), "2 \xFF\n");  // not UTF-8 at all: bytes still
  std::string out = "9 ninebytes";
  AppendOctetCounted(std::string(1000, 'a'), &out);  // appends
  EXPECT_EQ(out.substr(0, 16), "9 ninebytes1000 ");
  EXPECT_EQ(out.size(), 11u + 5 + 1000);
}

TEST(OctetCountedTest, TheFramerYieldsWhatTheEncoderWrote) {
  const std::vector<std::string> messages = {
      "<13>1 - h a - - - caf\xC3\xA9 \xE2\x82\xAC", "two\nlines\n", std::string(70000 / 2, 'z'),
      "<13>1 2026-11-23T05:08:34Z h a - - [x@1 v=\"\xC3\xA9\\]\"]"};
  std::string stream;
  for (const auto& m : messages) AppendOctetCounted(m, &stream);
  const std::vector<Frame> frames = FramesOf(stream);
  ASSERT_EQ(frames.size(), messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(frames[i].bytes, messages[i]);
    EXPECT_EQ(frames[i].kind, Kind::kOctetCounted);
  }
}

// Trim keeps the half-received frame (and a half-scanned line) and framing
// goes on from it as if nothing happened.
TEST(OctetFramerTest, TrimKeepsWhatIsPending) {
  OctetFramer framer(kMax);
  std::vector<Frame> frames;
  framer.Feed(std::string(50, 'x') + "\n11 hello");
  ASSERT_EQ(Drain(&framer, &frames), Result::kNeedMore);
  framer.Trim();
  EXPECT_EQ(framer.Pending(), "11 hello");
  framer.Feed(" world6 abc");
  framer.Trim();  // nothing consumed since: a no-op
  framer.Feed("def");
  ASSERT_EQ(Drain(&framer, &frames), Result::kNeedMore);
  framer.Feed("partial line");
  ASSERT_EQ(Drain(&framer, &frames), Result::kNeedMore);  // scanned, no LF yet
  framer.Trim();
  framer.Feed(" ends\n");
  ASSERT_EQ(Drain(&framer, &frames), Result::kNeedMore);
  framer.Trim();
  EXPECT_EQ(framer.Pending(), "");
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[1].bytes, "hello world");
  EXPECT_EQ(frames[2].bytes, "abcdef");
  EXPECT_EQ(frames[3].bytes, "partial line ends");
}

}  // namespace
}  // namespace trailkeep
