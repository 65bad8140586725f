// The spool's record codec on its own: frames and entries round-trip, each
// way a frame can be damaged is told apart, and the checkpoint round-trips
// or is refused whole.

#include "agent/spool_record_codec.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace trailkeep::agent {
namespace {

SpoolEntry Entry(uint64_t seq) {
  return {seq, "in", 1, 2, seq * 10, "<13>1 - h a - - - line " + std::to_string(seq), "", "k1"};
}

TEST(SpoolRecordCodecTest, EntriesRoundTrip) {
  std::string bytes;
  const SpoolEntry journal{3, "jr", 0, 0, 0, "msg", "cursor-3", ""};
  AppendEntryRecords({Entry(1), Entry(2), journal}, &bytes);
  size_t pos = 0;
  std::vector<SpoolEntry> back;
  while (pos < bytes.size()) {
    DecodedRecord d = DecodeRecordAt(bytes, pos);
    ASSERT_EQ(d.state, FrameState::kOk);
    back.push_back(d.entry);
    pos = d.end;
  }
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[1].seq, 2u);
  EXPECT_EQ(back[1].input, "in");
  EXPECT_EQ(back[1].file_dev, 1u);
  EXPECT_EQ(back[1].file_ino, 2u);
  EXPECT_EQ(back[1].offset_end, 20u);
  EXPECT_EQ(back[1].message, Entry(2).message);
  EXPECT_EQ(back[1].key_id, "k1");
  EXPECT_EQ(back[2].cursor, "cursor-3");
}

TEST(SpoolRecordCodecTest, TellsDamageApart) {
  std::string good;
  AppendEntryRecords({Entry(1)}, &good);

  EXPECT_EQ(DecodeRecordAt(good.substr(0, 5), 0).state, FrameState::kTruncated);
  EXPECT_EQ(DecodeRecordAt(good.substr(0, good.size() - 1), 0).state, FrameState::kTruncated);

  std::string zero_length = good;
  zero_length.replace(0, 4, std::string(4, '\0'));
  EXPECT_EQ(DecodeRecordAt(zero_length, 0).state, FrameState::kBadLength);
  std::string huge = good;
  huge[0] = '\x7f';
  EXPECT_EQ(DecodeRecordAt(huge, 0).state, FrameState::kBadLength);

  std::string flipped = good;
  flipped.back() ^= 1;
  const DecodedRecord bad_crc = DecodeRecordAt(flipped, 0);
  EXPECT_EQ(bad_crc.state, FrameState::kBadCrc);
  EXPECT_EQ(bad_crc.end, good.size());  // framed: what follows can be read
  EXPECT_STREQ(DescribeFrameState(bad_crc.state), "CRC mismatch");

  std::string not_a_record;
  AppendFramedRecord("\xff\xff\xff", &not_a_record);  // CRC-clean, not protobuf
  EXPECT_EQ(DecodeRecordAt(not_a_record, 0).state, FrameState::kBadPayload);
  std::string seq_zero;
  AppendEntryRecords({Entry(0)}, &seq_zero);
  EXPECT_EQ(DecodeRecordAt(seq_zero, 0).state, FrameState::kBadPayload);
}

TEST(SpoolRecordCodecTest, CheckpointRoundTripsOrIsRefusedWhole) {
  SpoolCheckpoint c;
  c.epoch = 1767225600000000000;
  c.last_seq = 42;
  c.head_mac = std::string(32, '\x5a');
  c.key_id = "0123456789abcdef";
  c.acked_seq = 40;
  c.positions = {{"in", "/var/log/x", 1, 2, 300, "tail", ""}, {"jr", "", 0, 0, 0, "", "cur"}};
  const std::string bytes = EncodeCheckpoint(c);

  const std::optional<SpoolCheckpoint> back = DecodeCheckpoint(bytes + "trailing bytes");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->epoch, c.epoch);
  EXPECT_EQ(back->last_seq, 42u);
  EXPECT_EQ(back->head_mac, c.head_mac);
  EXPECT_EQ(back->key_id, c.key_id);
  EXPECT_EQ(back->acked_seq, 40u);
  ASSERT_EQ(back->positions.size(), 2u);
  EXPECT_EQ(back->positions[0].path, "/var/log/x");
  EXPECT_EQ(back->positions[0].offset, 300u);
  EXPECT_EQ(back->positions[0].tail, "tail");
  EXPECT_EQ(back->positions[1].cursor, "cur");

  EXPECT_FALSE(DecodeCheckpoint("").has_value());
  EXPECT_FALSE(DecodeCheckpoint(bytes.substr(0, bytes.size() - 1)).has_value());
  std::string flipped = bytes;
  flipped.back() ^= 1;
  EXPECT_FALSE(DecodeCheckpoint(flipped).has_value());
  c.epoch = 0;  // no spool has epoch 0
  EXPECT_FALSE(DecodeCheckpoint(EncodeCheckpoint(c)).has_value());
}

}  // namespace
}  // namespace trailkeep::agent
