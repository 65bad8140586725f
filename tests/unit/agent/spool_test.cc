// The spool: durability, recovery after torn writes, CRC checks, sequence
// numbers that are never reused, and deletion of acknowledged segments.

#include "agent/spool.h"

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/message_builder.h"
#include "common/base/clock.h"
#include "common/wire/hmac_chain.h"
#include "tests/unit/agent/agent_test_util.h"

namespace trailkeep::agent {
namespace {

using testing::AppendTo;
using testing::FileSize;
using testing::ReadAll;
using testing::TempDir;
using testing::WriteAll;

const std::string kKey(32, '\x11');
constexpr int64_t kNowUs = 1767225600000000;
constexpr uint64_t kNowNs = uint64_t{kNowUs} * 1000;
const ManualClock kClock(kNowUs);

std::vector<std::string> Segments(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("seg-", 0) == 0) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Appends n signed events from input "in" (file dev 1, ino 2), one batch.
// Returns the MACs.
std::vector<std::string> AppendEvents(Spool* spool, int n, uint64_t* offset) {
  std::vector<SpoolEntry> entries;
  std::vector<std::string> macs;
  ChainPosition chain{kDefaultEnterpriseNumber, spool->epoch(), spool->next_seq(),
                      spool->head_mac(), ""};
  for (int i = 0; i < n; ++i) {
    MessageParts parts;
    parts.time_us = 1767225600000000;
    parts.input_name = "in";
    parts.msg = "event " + std::to_string(chain.seq) + std::string(100, 'x');
    std::string mac;
    SpoolEntry e;
    e.seq = chain.seq;
    e.input = "in";
    e.file_dev = 1;
    e.file_ino = 2;
    *offset += 10;
    e.offset_end = *offset;
    e.message = SignEvent(kKey, parts, "h1", chain, &mac);
    entries.push_back(std::move(e));
    macs.push_back(mac);
    chain.prev_mac = mac;
    ++chain.seq;
  }
  std::vector<FilePosition> positions = {{"in", "/x/in.log", 1, 2, *offset, "", ""}};
  EXPECT_TRUE(spool->Append(entries, macs.back(), positions).ok());
  return macs;
}

std::vector<uint64_t> ReadSeqs(Spool* spool, uint64_t from) {
  std::vector<SpooledMessage> out;
  EXPECT_TRUE(spool->Read(from, 1 << 30, &out).ok());
  std::vector<uint64_t> seqs;
  for (const auto& m : out) seqs.push_back(m.seq);
  return seqs;
}

std::unique_ptr<Spool> OpenSpool(const std::string& dir, uint64_t segment_bytes = 1 << 20) {
  auto s = Spool::Open({dir, 64 << 20, segment_bytes}, kClock);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

// Journal entries (agent/journal_reader.h): n signed events of input "jr"
// with cursors "c<seq>", one batch, and the position naming the last one.
void AppendJournalEvents(Spool* spool, int n) {
  std::vector<SpoolEntry> entries;
  ChainPosition chain{kDefaultEnterpriseNumber, spool->epoch(), spool->next_seq(),
                      spool->head_mac(), ""};
  std::string mac;
  for (int i = 0; i < n; ++i) {
    MessageParts parts;
    parts.time_us = 1767225600000000;
    parts.input_name = "jr";
    parts.msg = "entry " + std::to_string(chain.seq) + std::string(100, 'x');
    SpoolEntry e;
    e.seq = chain.seq;
    e.input = "jr";
    e.cursor = "c" + std::to_string(chain.seq);
    e.message = SignEvent(kKey, parts, "h1", chain, &mac);
    entries.push_back(std::move(e));
    chain.prev_mac = mac;
    ++chain.seq;
  }
  std::vector<FilePosition> positions = spool->positions();
  std::erase_if(positions, [](const FilePosition& p) { return p.input == "jr"; });
  positions.push_back({"jr", "", 0, 0, 0, "", entries.back().cursor});
  EXPECT_TRUE(spool->Append(entries, mac, positions).ok());
}

std::string CursorOf(const Spool& spool, const std::string& input) {
  for (const auto& p : spool.positions()) {
    if (p.input == input) return p.cursor;
  }
  return "(none)";
}

// A spool written before journal inputs existed (records and checkpoint
// without cursors, the same bytes) reads back, and keeps its file positions
// beside a journal input's cursor.
TEST(SpoolTest, JournalCursorBesideFilePositionsOfAnOlderSpool) {
  TempDir tmp;
  uint64_t offset = 0;
  {
    auto spool = OpenSpool(tmp.path());
    AppendEvents(spool.get(), 3, &offset);
  }
  {
    auto spool = OpenSpool(tmp.path());
    EXPECT_TRUE(spool->warnings().empty());
    EXPECT_EQ(CursorOf(*spool, "jr"), "(none)");
    AppendJournalEvents(spool.get(), 2);
  }
  auto spool = OpenSpool(tmp.path());
  EXPECT_EQ(spool->last_seq(), 5u);
  EXPECT_EQ(CursorOf(*spool, "jr"), "c5");
  EXPECT_EQ(CursorOf(*spool, "in"), "");
  ASSERT_EQ(spool->positions().size(), 2u);
  EXPECT_EQ(spool->positions()[0].offset, 30u);
}

// A crash between the segment's fsync and the checkpoint: the cursor rolls
// forward with the records, so those entries are not read again.
TEST(SpoolTest, JournalCursorRollsForward) {
  TempDir tmp;
  std::string old_state;
  {
    auto spool = OpenSpool(tmp.path());
    AppendJournalEvents(spool.get(), 2);
    old_state = ReadAll(tmp.File("state"));
    AppendJournalEvents(spool.get(), 3);
  }
  WriteAll(tmp.File("state"), old_state);
  auto spool = OpenSpool(tmp.path());
  EXPECT_EQ(spool->last_seq(), 5u);
  EXPECT_EQ(CursorOf(*spool, "jr"), "c5");
  // Without any checkpoint too.
  spool.reset();
  std::filesystem::remove(tmp.File("state"));
  spool = OpenSpool(tmp.path());
  EXPECT_EQ(CursorOf(*spool, "jr"), "c5");
}

// The newest records deleted behind the agent's back: the journal input goes
// back to its last surviving record's cursor, to read those entries again.
TEST(SpoolTest, JournalCursorGoesBackWhenTheNewestRecordsAreDeleted) {
  TempDir tmp;
  {
    auto spool = OpenSpool(tmp.path(), 4096);
    for (int i = 0; i < 6; ++i) AppendJournalEvents(spool.get(), 10);
  }
  auto segs = Segments(tmp.path());
  ASSERT_GE(segs.size(), 2u);
  std::filesystem::remove(segs.back());
  auto spool = OpenSpool(tmp.path(), 4096);
  EXPECT_EQ(spool->next_seq(), 61u);
  const std::vector<uint64_t> surviving = ReadSeqs(spool.get(), 1);
  ASSERT_FALSE(surviving.empty());
  EXPECT_LT(surviving.back(), 60u);
  EXPECT_EQ(CursorOf(*spool, "jr"), "c" + std::to_string(surviving.back()));
}

// The epoch is the clock's time when the spool is made, and stays when the
// spool is opened again later; a spool made anew later gets a later epoch.
TEST(SpoolTest, NewSpoolHasANewEpoch) {
  TempDir tmp;
  ManualClock clock(kNowUs);
  auto spool = Spool::Open({tmp.path(), 64 << 20, 1 << 20}, clock).value();
  EXPECT_TRUE(spool->created());
  EXPECT_EQ(spool->epoch(), kNowNs);
  EXPECT_EQ(spool->next_seq(), 1u);
  EXPECT_EQ(spool->head_mac(), std::string(kMacBytes, '\0'));
  spool.reset();
  clock.Advance(std::chrono::seconds(5));
  auto again = Spool::Open({tmp.path(), 64 << 20, 1 << 20}, clock).value();
  EXPECT_FALSE(again->created());
  EXPECT_EQ(again->epoch(), kNowNs);
  again.reset();

  std::filesystem::remove_all(tmp.path());
  auto anew = Spool::Open({tmp.path(), 64 << 20, 1 << 20}, clock).value();
  EXPECT_TRUE(anew->created());
  EXPECT_EQ(anew->epoch(), kNowNs + 5'000'000'000);
}

TEST(SpoolTest, AppendReadAndReopen) {
  TempDir tmp;
  uint64_t offset = 0;
  std::vector<std::string> macs;
  {
    auto spool = OpenSpool(tmp.path());
    macs = AppendEvents(spool.get(), 3, &offset);
    EXPECT_EQ(spool->last_seq(), 3u);
    EXPECT_EQ(ReadSeqs(spool.get(), 1), (std::vector<uint64_t>{1, 2, 3}));
    EXPECT_EQ(ReadSeqs(spool.get(), 3), (std::vector<uint64_t>{3}));
  }
  auto spool = OpenSpool(tmp.path());
  EXPECT_FALSE(spool->created());
  EXPECT_EQ(spool->last_seq(), 3u);
  EXPECT_EQ(spool->head_mac(), macs.back());
  ASSERT_EQ(spool->positions().size(), 1u);
  EXPECT_EQ(spool->positions()[0].offset, 30u);
  EXPECT_TRUE(spool->warnings().empty());
  EXPECT_EQ(ReadSeqs(spool.get(), 1), (std::vector<uint64_t>{1, 2, 3}));
}

// Linux file names are bytes: a checkpoint naming one that is not UTF-8
// must still read back (it did not while the path was a protobuf string).
TEST(SpoolTest, CheckpointKeepsAFileNameThatIsNotUtf8) {
  TempDir tmp;
  const std::string name = "/var/log/caf\xE9-latin1.log";
  {
    auto spool = OpenSpool(tmp.path());
    uint64_t offset = 0;
    AppendEvents(spool.get(), 1, &offset);
    ASSERT_TRUE(spool->Append({}, spool->head_mac(), {{"in", name, 1, 2, 77, "t\xFF", ""}}).ok());
  }
  auto spool = OpenSpool(tmp.path());
  ASSERT_EQ(spool->positions().size(), 1u);
  EXPECT_EQ(spool->positions()[0].path, name);
  EXPECT_EQ(spool->positions()[0].offset, 77u);
  EXPECT_TRUE(spool->warnings().empty());
}

TEST(SpoolTest, RollsForwardOverRecordsAfterTheCheckpoint) {
  TempDir tmp;
  uint64_t offset = 0;
  std::string old_state;
  std::vector<std::string> macs;
  {
    auto spool = OpenSpool(tmp.path());
    AppendEvents(spool.get(), 2, &offset);
    old_state = ReadAll(tmp.File("state"));
    macs = AppendEvents(spool.get(), 3, &offset);
  }
  // A crash after the segment's fdatasync, before the checkpoint's pwrite
  // (or a power loss before it was synced): both slots are older. The
  // records roll them forward, and none is taken for deleted.
  WriteAll(tmp.File("state"), old_state);
  auto spool = OpenSpool(tmp.path());
  EXPECT_EQ(spool->last_seq(), 5u);
  EXPECT_EQ(spool->head_mac(), macs.back());
  ASSERT_EQ(spool->positions().size(), 1u);
  EXPECT_EQ(spool->positions()[0].offset, 50u);
  EXPECT_EQ(spool->truncated_head_seq(), 0u);
  EXPECT_TRUE(spool->warnings().empty());
  AppendEvents(spool.get(), 1, &offset);
  EXPECT_EQ(ReadSeqs(spool.get(), 1), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
}

TEST(SpoolTest, TruncatesATornTail) {
  TempDir tmp;
  uint64_t offset = 0;
  std::vector<std::string> macs;
  {
    auto spool = OpenSpool(tmp.path());
    macs = AppendEvents(spool.get(), 3, &offset);
  }
  const std::string seg = Segments(tmp.path()).at(0);
  const uint64_t good = FileSize(seg);
  // Half of a record: a length, a CRC and a few payload bytes.
  AppendTo(seg, std::string("\x00\x00\x01\x00\x12\x34\x56\x78partial", 15));
  auto spool = OpenSpool(tmp.path());
  EXPECT_EQ(FileSize(seg), good);
  ASSERT_EQ(spool->warnings().size(), 1u);
  EXPECT_NE(spool->warnings()[0].find("torn tail"), std::string::npos);
  EXPECT_EQ(spool->next_seq(), 4u);
  EXPECT_EQ(spool->head_mac(), macs.back());
  // Appending continues cleanly after the cut.
  AppendEvents(spool.get(), 1, &offset);
  EXPECT_EQ(ReadSeqs(spool.get(), 1), (std::vector<uint64_t>{1, 2, 3, 4}));
}

TEST(SpoolTest, ZeroFilledTailIsTorn) {
  TempDir tmp;
  uint64_t offset = 0;
  {
    auto spool = OpenSpool(tmp.path());
    AppendEvents(spool.get(), 2, &offset);
  }
  const std::string seg = Segments(tmp.path()).at(0);
  const uint64_t good = FileSize(seg);
  AppendTo(seg, std::string(4096, '\0'));
  auto spool = OpenSpool(tmp.path());
  EXPECT_EQ(FileSize(seg), good);
  EXPECT_EQ(spool->next_seq(), 3u);
}

TEST(SpoolTest, DetectsCrcMismatch) {
  TempDir tmp;
  uint64_t offset = 0;
  {
    auto spool = OpenSpool(tmp.path());
    AppendEvents(spool.get(), 3, &offset);
  }
  const std::string seg = Segments(tmp.path()).at(0);
  std::string data = ReadAll(seg);
  // Flip a byte in the second record's payload.
  const size_t first_len =
      (static_cast<unsigned char>(data[2]) << 8) | static_cast<unsigned char>(data[3]);
  const size_t second = 8 + first_len;
  data[second + 8 + 20] ^= 0x01;
  WriteAll(seg, data);
  auto spool = OpenSpool(tmp.path());
  ASSERT_FALSE(spool->warnings().empty());
  EXPECT_NE(spool->warnings()[0].find("CRC mismatch"), std::string::npos);
  EXPECT_EQ(FileSize(seg), data.size());  // evidence in the middle is kept
  EXPECT_EQ(ReadSeqs(spool.get(), 1), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(spool->next_seq(), 4u);
}

TEST(SpoolTest, BadCrcOnTheLastRecordIsATornTail) {
  TempDir tmp;
  uint64_t offset = 0;
  std::vector<std::string> macs;
  {
    auto spool = OpenSpool(tmp.path());
    macs = AppendEvents(spool.get(), 2, &offset);
    AppendEvents(spool.get(), 1, &offset);  // checkpoint now says 3
  }
  const std::string seg = Segments(tmp.path()).at(0);
  std::string data = ReadAll(seg);
  data[data.size() - 5] ^= 0x40;
  WriteAll(seg, data);
  auto spool = OpenSpool(tmp.path());
  EXPECT_EQ(ReadSeqs(spool.get(), 1), (std::vector<uint64_t>{1, 2}));
  // The checkpoint knew seq 3: it is never reused.
  EXPECT_EQ(spool->next_seq(), 4u);
}

TEST(SpoolTest, NeverReusesASeqWhenTheNewestRecordsAreDeleted) {
  TempDir tmp;
  uint64_t offset = 0;
  std::vector<std::string> macs;
  {
    auto spool = OpenSpool(tmp.path(), 4096);
    for (int i = 0; i < 6; ++i) macs = AppendEvents(spool.get(), 10, &offset);
  }
  auto segs = Segments(tmp.path());
  ASSERT_GE(segs.size(), 2u);
  std::filesystem::remove(segs.back());
  auto spool = OpenSpool(tmp.path(), 4096);
  EXPECT_EQ(spool->next_seq(), 61u);
  EXPECT_EQ(spool->head_mac(), macs.back());
  bool warned = false;
  for (const auto& w : spool->warnings()) warned |= w.find("DELETED") != std::string::npos;
  EXPECT_TRUE(warned);
  EXPECT_EQ(spool->truncated_head_seq(), 60u);
  EXPECT_EQ(spool->truncated_head_mac(), macs.back());
  // The input goes back to its last surviving record, to read those lines again.
  ASSERT_EQ(spool->positions().size(), 1u);
  EXPECT_LT(spool->positions()[0].offset, 600u);
  EXPECT_EQ(spool->positions()[0].offset % 10, 0u);
  AppendEvents(spool.get(), 1, &offset);
  EXPECT_EQ(spool->last_seq(), 61u);
}

TEST(SpoolTest, RebuildsWithoutACheckpoint) {
  TempDir tmp;
  uint64_t offset = 0;
  std::vector<std::string> macs;
  uint64_t epoch = 0;
  {
    auto spool = OpenSpool(tmp.path());
    epoch = spool->epoch();
    macs = AppendEvents(spool.get(), 4, &offset);
  }
  std::filesystem::remove(tmp.File("state"));
  ManualClock later(kNowUs + 1);
  auto spool = Spool::Open({tmp.path(), 64 << 20, 1 << 20}, later).value();
  EXPECT_FALSE(spool->created());
  EXPECT_EQ(spool->epoch(), epoch);
  EXPECT_EQ(spool->next_seq(), 5u);
  EXPECT_EQ(spool->head_mac(), macs.back());
  ASSERT_EQ(spool->positions().size(), 1u);
  EXPECT_EQ(spool->positions()[0].offset, 40u);
}

// A full segment none of whose records can be read (every CRC damaged), and
// no checkpoint: a damaged or tampered spool. The next Append created a
// segment under the name that exists, failed, and failed again for ever,
// so the agent paused its inputs for good (found by spool_fuzz).
TEST(SpoolTest, AppendsAfterAnUnreadableFullSegment) {
  TempDir tmp;
  uint64_t offset = 0;
  {
    auto spool = OpenSpool(tmp.path(), 1000);
    AppendEvents(spool.get(), 5, &offset);   // seg 1: seqs 1-5, full
    AppendEvents(spool.get(), 10, &offset);  // seg 6: seqs 6-15, full
  }
  const std::vector<std::string> segs = Segments(tmp.path());
  ASSERT_EQ(segs.size(), 2u);
  std::string bytes = ReadAll(segs[1]);
  for (size_t pos = 0; pos + 8 <= bytes.size();) {
    const auto* u = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
    const size_t len = size_t{u[0]} << 24 | size_t{u[1]} << 16 | size_t{u[2]} << 8 | u[3];
    bytes[pos + 4] ^= 1;  // the CRC
    pos += 8 + len;
  }
  WriteAll(segs[1], bytes);
  std::filesystem::remove(tmp.File("state"));

  auto spool = OpenSpool(tmp.path(), 1000);
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->next_seq(), 7u);  // seq 6, named by the segment, is not handed out again
  bool warned = false;
  for (const auto& w : spool->warnings())
    warned |= w.find("no readable record") != std::string::npos;
  EXPECT_TRUE(warned);
  AppendEvents(spool.get(), 1, &offset);
  EXPECT_EQ(spool->last_seq(), 7u);
  EXPECT_EQ(ReadSeqs(spool.get(), 7), std::vector<uint64_t>{7});
}

// Empty segment files and no checkpoint (a damaged spool, or creates whose
// appends failed): once an acknowledgement deleted the last one, the next
// Append created a segment whose name an empty one still had, and failed
// with EEXIST for ever (found by spool_fuzz).
TEST(SpoolTest, TakesOverAnEmptySegmentOfTheSameName) {
  TempDir tmp;
  WriteAll(tmp.File("seg-00000000000000000001.tks"), "");
  WriteAll(tmp.File("seg-00000000000000000026.tks"), "");
  auto spool = OpenSpool(tmp.path());
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->next_seq(), 1u);
  EXPECT_TRUE(spool->Acknowledge(26).ok());
  uint64_t offset = 0;
  AppendEvents(spool.get(), 3, &offset);
  EXPECT_EQ(spool->last_seq(), 3u);
  EXPECT_EQ(ReadSeqs(spool.get(), 1), (std::vector<uint64_t>{1, 2, 3}));
  spool.reset();
  spool = OpenSpool(tmp.path());
  EXPECT_EQ(ReadSeqs(spool.get(), 1), (std::vector<uint64_t>{1, 2, 3}));
}

TEST(SpoolTest, DeletesSegmentsOnceAcknowledged) {
  TempDir tmp;
  uint64_t offset = 0;
  auto spool = OpenSpool(tmp.path(), 4096);
  for (int i = 0; i < 8; ++i) AppendEvents(spool.get(), 10, &offset);  // ~2.5 KiB per batch
  auto segs = Segments(tmp.path());
  ASSERT_GE(segs.size(), 3u);
  auto first_of = [](const std::string& path) {
    return std::stoull(std::filesystem::path(path).filename().string().substr(4, 20));
  };
  EXPECT_EQ(first_of(segs[0]), 1u);
  const uint64_t second = first_of(segs[1]);
  const uint64_t before = spool->size_bytes();

  ASSERT_TRUE(spool->Acknowledge(second + 4).ok());  // the first segment is done, not the second
  EXPECT_EQ(Segments(tmp.path()).size(), segs.size() - 1);
  EXPECT_EQ(Segments(tmp.path()).front(), segs[1]);
  EXPECT_LT(spool->size_bytes(), before);
  EXPECT_EQ(spool->first_seq(), second + 5);
  EXPECT_EQ(ReadSeqs(spool.get(), second + 5).front(), second + 5);

  ASSERT_TRUE(spool->Acknowledge(80).ok());  // everything, the active (full) segment too
  EXPECT_TRUE(Segments(tmp.path()).empty());
  EXPECT_EQ(spool->size_bytes(), 0u);
  EXPECT_EQ(spool->first_seq(), 81u);
  AppendEvents(spool.get(), 1, &offset);
  EXPECT_EQ(ReadSeqs(spool.get(), 81), (std::vector<uint64_t>{81}));
  spool.reset();

  // An all-acknowledged spool reopens without a deletion warning.
  auto again = OpenSpool(tmp.path(), 4096);
  ASSERT_TRUE(again->Acknowledge(81).ok());
  again.reset();
  again = OpenSpool(tmp.path(), 4096);
  EXPECT_TRUE(again->warnings().empty());
  EXPECT_EQ(again->next_seq(), 82u);
}

TEST(SpoolTest, ReadsInBatchesAcrossSegments) {
  TempDir tmp;
  uint64_t offset = 0;
  auto spool = OpenSpool(tmp.path(), 4096);
  for (int i = 0; i < 5; ++i) AppendEvents(spool.get(), 10, &offset);
  uint64_t next = 1;
  std::vector<uint64_t> all;
  for (int rounds = 0; rounds < 100 && next <= spool->last_seq(); ++rounds) {
    std::vector<SpooledMessage> out;
    ASSERT_TRUE(spool->Read(next, 1000, &out).ok());
    ASSERT_FALSE(out.empty());
    for (const auto& m : out) all.push_back(m.seq);
    next = out.back().seq + 1;
  }
  ASSERT_EQ(all.size(), 50u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i + 1);
}

// A sender that caught up and found nothing new reads on from the end: it
// does not scan the records before again (the active segment keeps its
// acknowledged records while it has room). A record damaged behind the
// cursor shows it: it is not read, so not warned about.
TEST(SpoolTest, ReadsOnFromTheEndAfterAnEmptyRead) {
  TempDir tmp;
  uint64_t offset = 0;
  auto spool = OpenSpool(tmp.path());
  AppendEvents(spool.get(), 5, &offset);
  EXPECT_EQ(ReadSeqs(spool.get(), 1).size(), 5u);
  EXPECT_TRUE(ReadSeqs(spool.get(), 6).empty());
  const std::string seg = Segments(tmp.path()).front();
  std::string data = ReadAll(seg);
  data[20] ^= 0x55;  // the first record's payload
  WriteAll(seg, data);
  AppendEvents(spool.get(), 1, &offset);
  EXPECT_EQ(ReadSeqs(spool.get(), 6), std::vector<uint64_t>{6});
  EXPECT_TRUE(spool->warnings().empty());
}

TEST(SpoolTest, FullWhenOverTheBound) {
  TempDir tmp;
  uint64_t offset = 0;
  auto spool = Spool::Open({tmp.path(), 1 << 20, 4096}, kClock).value();
  while (!spool->Full()) AppendEvents(spool.get(), 50, &offset);
  EXPECT_EQ(spool->room_bytes(), 0u);
  ASSERT_TRUE(spool->Acknowledge(spool->last_seq()).ok());
  EXPECT_FALSE(spool->Full());
}

}  // namespace
}  // namespace trailkeep::agent

namespace trailkeep::agent {
namespace {

// Key rotation: each record and the checkpoint's head note the id of the key
// the record was signed with, across a reopen and a roll-forward.
TEST(SpoolTest, RecordsAndTheHeadKeepTheirKeyId) {
  TempDir dir;
  auto spool = OpenSpool(dir.path());
  EXPECT_EQ(spool->head_key_id(), "");
  std::vector<SpoolEntry> entries(2);
  entries[0].seq = 1;
  entries[0].message = "<13>1 - h - - - [tk@32473 e=\"1\" s=\"1\" p=\"" + std::string(64, '0') +
                       "\" m=\"" + std::string(64, 'a') + "\"] one";
  entries[0].key_id = "1111111111111111";
  entries[1].seq = 2;
  entries[1].message = "<13>1 - h - - - [tk@32473 e=\"1\" s=\"2\" p=\"" + std::string(64, 'a') +
                       "\" m=\"" + std::string(64, 'b') + "\"] two";
  entries[1].key_id = "2222222222222222";
  ASSERT_TRUE(spool->Append(entries, std::string(32, '\xbb'), {}).ok());
  EXPECT_EQ(spool->head_key_id(), "2222222222222222");
  spool.reset();
  spool = OpenSpool(dir.path());
  EXPECT_EQ(spool->head_key_id(), "2222222222222222");
  // The checkpoint lost: rolled forward from the records, the key id too.
  spool.reset();
  std::filesystem::remove(dir.path() + "/state");
  spool = OpenSpool(dir.path());
  EXPECT_EQ(spool->last_seq(), 2u);
  EXPECT_EQ(spool->head_key_id(), "2222222222222222");
}

}  // namespace
}  // namespace trailkeep::agent

// The checkpoint file (agent/spool_checkpoint_file.h): each append writes it
// without a sync; the recovery cases of that layout.
namespace trailkeep::agent {
namespace {

using testing::FileSize;
using testing::ReadAll;
using testing::TempDir;
using testing::WriteAll;

bool Warned(const Spool& spool, const std::string& text) {
  for (const auto& w : spool.warnings()) {
    if (w.find(text) != std::string::npos) return true;
  }
  return false;
}

// Drops the last `n` framed records of a segment, as an attacker would.
void CutRecords(const std::string& path, int n) {
  const std::string data = ReadAll(path);
  std::vector<size_t> starts;
  for (size_t at = 0; at + kSpoolFrameHeaderBytes <= data.size();) {
    starts.push_back(at);
    const auto* u = reinterpret_cast<const unsigned char*>(data.data() + at);
    at += kSpoolFrameHeaderBytes +
          (uint32_t{u[0]} << 24 | uint32_t{u[1]} << 16 | uint32_t{u[2]} << 8 | uint32_t{u[3]});
  }
  ASSERT_GE(starts.size(), static_cast<size_t>(n));
  WriteAll(path, data.substr(0, starts[starts.size() - static_cast<size_t>(n)]));
}

TEST(SpoolCheckpointTest, AnAppendWritesTheCheckpointUnsynced) {
  TempDir tmp;
  uint64_t offset = 0;
  auto spool = OpenSpool(tmp.path());
  EXPECT_FALSE(spool->checkpoint_unsynced());  // Open() created it synced
  EXPECT_EQ(FileSize(tmp.File("state")), 2u * 4096);
  AppendEvents(spool.get(), 3, &offset);
  EXPECT_TRUE(spool->checkpoint_unsynced());
  ASSERT_TRUE(spool->SyncCheckpoint().ok());
  EXPECT_FALSE(spool->checkpoint_unsynced());
  // In place: the file keeps its size and inode.
  EXPECT_EQ(FileSize(tmp.File("state")), 2u * 4096);
  EXPECT_FALSE(std::filesystem::exists(tmp.File("state.tmp")));
}

// kill -9 right after an append: the unsynced checkpoint is what the next
// start reads, so the newest records deleted behind the agent's back are
// noticed (agent_tamper_test's test_truncated_tail).
TEST(SpoolCheckpointTest, UnsyncedCheckpointDetectsATruncatedTail) {
  TempDir tmp;
  uint64_t offset = 0;
  std::vector<std::string> macs;
  {
    auto spool = OpenSpool(tmp.path());
    AppendEvents(spool.get(), 5, &offset);
    macs = AppendEvents(spool.get(), 3, &offset);
    EXPECT_TRUE(spool->checkpoint_unsynced());
  }
  CutRecords(Segments(tmp.path()).back(), 3);
  auto spool = OpenSpool(tmp.path());
  EXPECT_EQ(spool->truncated_head_seq(), 8u);
  EXPECT_EQ(spool->truncated_head_mac(), macs.back());
  EXPECT_EQ(spool->next_seq(), 9u);
  EXPECT_TRUE(Warned(*spool, "DELETED"));
  ASSERT_EQ(spool->positions().size(), 1u);
  EXPECT_EQ(spool->positions()[0].offset, 50u);  // back to the last surviving record
}

// A power loss tears the slot being written: the other slot holds the
// checkpoint before, and the records roll it forward.
TEST(SpoolCheckpointTest, ATornSlotFallsBackToTheOtherOne) {
  TempDir tmp;
  uint64_t offset = 0;
  std::vector<std::string> macs;
  {
    auto spool = OpenSpool(tmp.path());            // generation 1 in slot 0
    AppendEvents(spool.get(), 2, &offset);         // 2 in slot 1
    macs = AppendEvents(spool.get(), 3, &offset);  // 3 in slot 0
  }
  std::string state = ReadAll(tmp.File("state"));
  ASSERT_EQ(state.size(), 2u * 4096);
  state[20] ^= 0x55;  // slot 0's payload
  WriteAll(tmp.File("state"), state);
  auto back = DecodeCheckpointFile(state);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->last_seq, 2u);
  auto spool = OpenSpool(tmp.path());
  EXPECT_EQ(spool->last_seq(), 5u);
  EXPECT_EQ(spool->head_mac(), macs.back());
  EXPECT_EQ(spool->truncated_head_seq(), 0u);
  EXPECT_FALSE(Warned(*spool, "corrupt"));
  ASSERT_EQ(spool->positions().size(), 1u);
  EXPECT_EQ(spool->positions()[0].offset, 50u);
}

// The upgrade path: a spool whose `state` is the single frame older agents
// wrote (rename-replaced) opens with its head, detects a truncated tail
// against it, and is rewritten in two slots.
TEST(SpoolCheckpointTest, ReadsTheSingleFrameStateOfOlderAgents) {
  TempDir tmp;
  uint64_t offset = 0;
  std::vector<std::string> macs;
  SpoolCheckpoint head;
  {
    auto spool = OpenSpool(tmp.path());
    AppendEvents(spool.get(), 4, &offset);
    macs = AppendEvents(spool.get(), 2, &offset);
    head.epoch = spool->epoch();
    head.last_seq = spool->last_seq();
    head.head_mac = spool->head_mac();
    head.key_id = spool->head_key_id();
    head.acked_seq = 1;
    head.positions = spool->positions();
  }
  const std::string old_format = EncodeCheckpoint(head);  // generation 0: no field
  WriteAll(tmp.File("state"), old_format);
  {
    auto spool = OpenSpool(tmp.path());
    EXPECT_TRUE(spool->warnings().empty());
    EXPECT_EQ(spool->last_seq(), 6u);
    EXPECT_EQ(spool->acked_seq(), 1u);
    EXPECT_EQ(spool->head_mac(), macs.back());
    EXPECT_EQ(FileSize(tmp.File("state")), 2u * 4096);
  }
  WriteAll(tmp.File("state"), old_format);
  CutRecords(Segments(tmp.path()).back(), 2);
  auto spool = OpenSpool(tmp.path());
  EXPECT_EQ(spool->truncated_head_seq(), 6u);
  EXPECT_EQ(spool->next_seq(), 7u);
}

// Positions that outgrow a slot: the file is re-created with larger slots.
TEST(SpoolCheckpointTest, GrowsItsSlotsForManyPositions) {
  TempDir tmp;
  auto spool = OpenSpool(tmp.path());
  std::vector<FilePosition> positions;
  for (int i = 0; i < 200; ++i) {
    positions.push_back({"in" + std::to_string(i), "/var/log/app-" + std::to_string(i) + ".log", 1,
                         static_cast<uint64_t>(100 + i), 4096, std::string(64, 't'), ""});
  }
  ASSERT_TRUE(spool->Append({}, spool->head_mac(), positions).ok());
  EXPECT_GT(FileSize(tmp.File("state")), 2u * 4096);
  positions[7].offset = 8192;
  ASSERT_TRUE(spool->Append({}, spool->head_mac(), positions).ok());
  spool.reset();
  spool = OpenSpool(tmp.path());
  ASSERT_EQ(spool->positions().size(), 200u);
  EXPECT_EQ(spool->positions()[7].offset, 8192u);
  EXPECT_TRUE(spool->warnings().empty());
}

// Acknowledge() syncs the checkpoint before it deletes: the deleted seqs are
// never handed out again, whatever the page cache lost.
TEST(SpoolCheckpointTest, DeletingSyncsTheCheckpointFirst) {
  TempDir tmp;
  uint64_t offset = 0;
  auto spool = OpenSpool(tmp.path(), 4096);
  for (int i = 0; i < 3; ++i) AppendEvents(spool.get(), 10, &offset);  // ~2.5 KiB each
  const auto segs = Segments(tmp.path());
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_TRUE(spool->checkpoint_unsynced());
  ASSERT_TRUE(spool->Acknowledge(30).ok());
  EXPECT_FALSE(spool->checkpoint_unsynced());
  // The active one has room: kept for the next appends.
  EXPECT_EQ(Segments(tmp.path()), std::vector<std::string>{segs.back()});
  EXPECT_EQ(spool->size_bytes(), FileSize(segs.back()));
  EXPECT_EQ(spool->first_seq(), 31u);
  EXPECT_TRUE(ReadSeqs(spool.get(), 31).empty());
  AppendEvents(spool.get(), 1, &offset);
  EXPECT_EQ(ReadSeqs(spool.get(), 31), std::vector<uint64_t>{31});
  EXPECT_EQ(Segments(tmp.path()), std::vector<std::string>{segs.back()});
  // A spool bound too small to keep it: deleted with the rest.
  TempDir small;
  auto tight = Spool::Open({small.path(), 6000, 4096}, kClock).value();
  AppendEvents(tight.get(), 5, &offset);
  ASSERT_TRUE(tight->Acknowledge(5).ok());
  EXPECT_TRUE(Segments(small.path()).empty());
  EXPECT_EQ(tight->size_bytes(), 0u);
}

}  // namespace
}  // namespace trailkeep::agent
