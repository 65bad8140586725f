// FileTailer: start positions, rotation by rename, copy-truncate, files that
// appear later, restarts (also after a rotation while the agent was down),
// long and partial lines.

#include "agent/file_tailer.h"

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/unit/agent/agent_test_util.h"

namespace trailkeep::agent {
namespace {

using testing::AppendTo;
using testing::TempDir;
using testing::WriteAll;

InputConfig Input(const std::string& path, bool start_at_end) {
  InputConfig c;
  c.name = "secure";
  c.path = path;
  c.start_at_end = start_at_end;
  return c;
}

std::vector<std::string> Poll(FileTailer* t, std::vector<TailedLine>* raw = nullptr) {
  std::vector<TailedLine> lines;
  t->Poll(1 << 20, 0, &lines);
  std::vector<std::string> out;
  for (const auto& l : lines) out.push_back(l.text);
  if (raw != nullptr) *raw = std::move(lines);
  return out;
}

using Lines = std::vector<std::string>;

std::vector<FilePosition> Positions(const FileTailer& t) {
  std::vector<FilePosition> p;
  t.AppendPositions(&p);
  return p;
}

TEST(FileTailerTest, StartEndSkipsWhatIsThereAtTheFirstStart) {
  TempDir tmp;
  const std::string f = tmp.File("secure");
  WriteAll(f, "old 1\nold 2\n");
  FileTailer t(Input(f, true), {}, /*first_start=*/true);
  EXPECT_EQ(Poll(&t), Lines{});
  AppendTo(f, "new 1\nnew 2\n");
  std::vector<TailedLine> raw;
  EXPECT_EQ(Poll(&t, &raw), (Lines{"new 1", "new 2"}));
  EXPECT_EQ(raw.back().offset_end, 24u);
}

TEST(FileTailerTest, StartBeginningReadsEverything) {
  TempDir tmp;
  const std::string f = tmp.File("secure");
  WriteAll(f, "old 1\nold 2\n");
  FileTailer t(Input(f, false), {}, true);
  EXPECT_EQ(Poll(&t), (Lines{"old 1", "old 2"}));
}

TEST(FileTailerTest, OnlyCompleteLines) {
  TempDir tmp;
  const std::string f = tmp.File("secure");
  WriteAll(f, "");
  FileTailer t(Input(f, true), {}, true);
  Poll(&t);
  AppendTo(f, "half");
  EXPECT_EQ(Poll(&t), Lines{});
  EXPECT_EQ(Positions(t).at(0).offset, 0u);
  AppendTo(f, " done\r\nnext");
  EXPECT_EQ(Poll(&t), (Lines{"half done\r"}));
  EXPECT_EQ(Positions(t).at(0).offset, 11u);
}

TEST(FileTailerTest, StopsAtTheBudgetAndContinuesNextPoll) {
  TempDir tmp;
  const std::string f = tmp.File("secure");
  WriteAll(f, "");
  FileTailer t(Input(f, true), {}, true);
  Poll(&t);
  std::string text;
  for (int i = 0; i < 100; ++i) text += "line " + std::to_string(i) + "\n";
  AppendTo(f, text);
  std::vector<TailedLine> lines;
  t.Poll(1000, 90, &lines);  // each line costs about 97
  ASSERT_EQ(lines.size(), 11u);
  EXPECT_EQ(Positions(t).at(0).offset, lines.back().offset_end);
  lines.clear();
  t.Poll(1 << 20, 90, &lines);
  ASSERT_EQ(lines.size(), 89u);
  EXPECT_EQ(lines.front().text, "line 11");
}

TEST(FileTailerTest, SplitsLongLines) {
  TempDir tmp;
  const std::string f = tmp.File("secure");
  WriteAll(f, "");
  FileTailer t(Input(f, true), {}, true);
  Poll(&t);
  AppendTo(f, std::string(kMaxLineBytes + 10, 'a') + "\nshort\n");
  const Lines got = Poll(&t);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].size(), kMaxLineBytes);
  EXPECT_EQ(got[1], std::string(10, 'a'));
  EXPECT_EQ(got[2], "short");
}

TEST(FileTailerTest, RotationByRename) {
  TempDir tmp;
  const std::string f = tmp.File("secure");
  WriteAll(f, "");
  FileTailer t(Input(f, true), {}, true);
  Poll(&t);
  AppendTo(f, "a1\n");
  EXPECT_EQ(Poll(&t), Lines{"a1"});
  ASSERT_EQ(std::rename(f.c_str(), tmp.File("secure.1").c_str()), 0);
  AppendTo(tmp.File("secure.1"), "a2 (written to the old file after the rename)\n");
  WriteAll(f, "b1\nb2\n");
  EXPECT_EQ(Poll(&t), (Lines{"a2 (written to the old file after the rename)", "b1", "b2"}));
  EXPECT_EQ(t.tracked_files(), 2u);
  AppendTo(tmp.File("secure.1"), "a3\n");
  AppendTo(f, "b3\n");
  EXPECT_EQ(Poll(&t), (Lines{"a3", "b3"}));
  // The old file is closed once idle; a last line without LF is still read.
  AppendTo(tmp.File("secure.1"), "a4 no newline");
  Lines rest;
  for (int i = 0; i <= FileTailer::kDrainIdlePolls + 1; ++i) {
    for (auto& l : Poll(&t)) rest.push_back(l);
  }
  EXPECT_EQ(rest, Lines{"a4 no newline"});
  EXPECT_EQ(t.tracked_files(), 1u);
}

TEST(FileTailerTest, FileRotatedBeforeItWasEverSeenIsReadFirst) {
  TempDir tmp;
  const std::string f = tmp.File("app.log");
  WriteAll(tmp.File("app.log.2"), "old rotation, not ours\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  FileTailer t(Input(f, true), {}, true);
  EXPECT_EQ(Poll(&t), Lines{});  // the path does not exist yet
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  WriteAll(f, "a1\na2\n");
  ASSERT_EQ(std::rename(f.c_str(), tmp.File("app.log.1").c_str()), 0);
  WriteAll(f, "b1\n");
  EXPECT_EQ(Poll(&t), (Lines{"a1", "a2", "b1"}));
  AppendTo(f, "b2\n");
  EXPECT_EQ(Poll(&t), Lines{"b2"});
}

TEST(FileTailerTest, CopyTruncate) {
  TempDir tmp;
  const std::string f = tmp.File("secure");
  WriteAll(f, "");
  FileTailer t(Input(f, true), {}, true);
  Poll(&t);
  AppendTo(f, "line one\nline two\n");
  EXPECT_EQ(Poll(&t), (Lines{"line one", "line two"}));
  WriteAll(f, "x\n");  // truncated in place, then written again
  EXPECT_EQ(Poll(&t), Lines{"x"});
  EXPECT_EQ(Positions(t).at(0).offset, 2u);
}

TEST(FileTailerTest, CopyTruncateRewrittenToTheSameLengthBetweenPolls) {
  TempDir tmp;
  const std::string f = tmp.File("secure");
  WriteAll(f, "");
  FileTailer t(Input(f, true), {}, true);
  Poll(&t);
  AppendTo(f, "line 0000001\nline 0000002\n");
  EXPECT_EQ(Poll(&t), (Lines{"line 0000001", "line 0000002"}));
  WriteAll(f, "line 0000003\nline 0000004\n");  // same size as before
  EXPECT_EQ(Poll(&t), (Lines{"line 0000003", "line 0000004"}));
  AppendTo(f, "line 0000005\n");
  EXPECT_EQ(Poll(&t), Lines{"line 0000005"});
}

TEST(FileTailerTest, RewrittenWhileDownIsReadAgain) {
  TempDir tmp;
  const std::string f = tmp.File("secure");
  WriteAll(f, "aaaa\n");
  std::vector<FilePosition> saved;
  {
    FileTailer t(Input(f, false), {}, true);
    EXPECT_EQ(Poll(&t), Lines{"aaaa"});
    saved = Positions(t);
    EXPECT_EQ(saved.at(0).tail, "aaaa\n");
  }
  WriteAll(f, "bbbb\ncccc\n");
  FileTailer t(Input(f, true), saved, false);
  EXPECT_EQ(Poll(&t), (Lines{"bbbb", "cccc"}));
}

TEST(FileTailerTest, GlobPicksUpNewFilesFromTheirStart) {
  TempDir tmp;
  WriteAll(tmp.File("a.log"), "present\n");
  FileTailer t(Input(tmp.File("*.log"), true), {}, true);
  EXPECT_EQ(Poll(&t), Lines{});
  WriteAll(tmp.File("b.log"), "b first\nb second\n");
  WriteAll(tmp.File("c.log.gz"), "binary");
  EXPECT_EQ(Poll(&t), (Lines{"b first", "b second"}));
  EXPECT_EQ(t.tracked_files(), 2u);
}

TEST(FileTailerTest, RestartResumesAtTheSavedPosition) {
  TempDir tmp;
  const std::string f = tmp.File("secure");
  WriteAll(f, "");
  std::vector<FilePosition> saved;
  {
    FileTailer t(Input(f, true), {}, true);
    Poll(&t);
    AppendTo(f, "one\ntwo\n");
    EXPECT_EQ(Poll(&t), (Lines{"one", "two"}));
    saved = Positions(t);
  }
  AppendTo(f, "three\n");
  FileTailer t(Input(f, true), saved, /*first_start=*/false);
  EXPECT_EQ(Poll(&t), Lines{"three"});
}

TEST(FileTailerTest, NewFileAtRestartIsReadFromItsStart) {
  TempDir tmp;
  const std::string f = tmp.File("secure");
  WriteAll(f, "written while the agent was down\n");
  // Not the first start, and nothing saved for this file: it is new.
  FileTailer t(Input(f, true), {}, /*first_start=*/false);
  EXPECT_EQ(Poll(&t), Lines{"written while the agent was down"});
}

TEST(FileTailerTest, RotatedWhileDownIsFoundAmongSiblings) {
  TempDir tmp;
  const std::string f = tmp.File("secure");
  WriteAll(f, "");
  std::vector<FilePosition> saved;
  {
    FileTailer t(Input(f, true), {}, true);
    Poll(&t);
    AppendTo(f, "before\n");
    EXPECT_EQ(Poll(&t), Lines{"before"});
    saved = Positions(t);
  }
  AppendTo(f, "after, unread\n");
  ASSERT_EQ(std::rename(f.c_str(), tmp.File("secure.1").c_str()), 0);
  WriteAll(f, "new file\n");
  FileTailer t(Input(f, true), saved, false);
  EXPECT_EQ(Poll(&t), (Lines{"after, unread", "new file"}));
}

TEST(FileTailerTest, RotatedAwayAndGoneStartsTheNewFileAtZero) {
  TempDir tmp;
  const std::string f = tmp.File("secure");
  WriteAll(f, "x\n");
  std::vector<FilePosition> saved;
  {
    FileTailer t(Input(f, false), {}, true);
    EXPECT_EQ(Poll(&t), Lines{"x"});
    saved = Positions(t);
  }
  ASSERT_EQ(std::remove(f.c_str()), 0);
  WriteAll(tmp.File("other"), "");  // keep inode numbers from being reused at once
  WriteAll(f, "fresh\n");
  FileTailer t(Input(f, true), saved, false);
  EXPECT_EQ(Poll(&t), Lines{"fresh"});
}

}  // namespace
}  // namespace trailkeep::agent
