// The checkpoint file's two slots (agent/spool_checkpoint_file.h): which one
// counts, the single frame of older agents, and in-place writes.

#include "agent/spool_checkpoint_file.h"

#include <gtest/gtest.h>

#include "tests/unit/agent/agent_test_util.h"

namespace trailkeep::agent {
namespace {

SpoolCheckpoint Checkpoint(uint64_t last_seq, uint64_t generation) {
  SpoolCheckpoint c;
  c.epoch = 7;
  c.last_seq = last_seq;
  c.head_mac.assign(32, 'm');
  c.generation = generation;
  return c;
}

// Both slots as a file whose slot 1 holds `second`.
std::string TwoSlots(const SpoolCheckpoint& first, const SpoolCheckpoint& second) {
  std::string data = EncodeCheckpointFile(first, 4096);
  const std::string frame = EncodeCheckpoint(second);
  data.replace(4096, frame.size(), frame);
  return data;
}

TEST(CheckpointFileTest, SlotSizes) {
  EXPECT_EQ(CheckpointSlotBytes(100), 4096u);
  EXPECT_EQ(CheckpointSlotBytes(2048), 4096u);
  EXPECT_EQ(CheckpointSlotBytes(2049), 8192u);
  EXPECT_EQ(EncodeCheckpointFile(Checkpoint(1, 1), 4096).size(), 8192u);
}

TEST(CheckpointFileTest, TheNewerValidSlotCounts) {
  EXPECT_EQ(DecodeCheckpointFile(TwoSlots(Checkpoint(5, 3), Checkpoint(4, 2)))->last_seq, 5u);
  EXPECT_EQ(DecodeCheckpointFile(TwoSlots(Checkpoint(5, 3), Checkpoint(9, 4)))->last_seq, 9u);
  // Slot 1 torn: slot 0.
  std::string torn = TwoSlots(Checkpoint(5, 3), Checkpoint(9, 4));
  torn[4096 + 12] ^= 1;
  EXPECT_EQ(DecodeCheckpointFile(torn)->last_seq, 5u);
  // Slot 0 torn, slot 1 empty (zeros): nothing.
  std::string none = EncodeCheckpointFile(Checkpoint(5, 3), 4096);
  none[12] ^= 1;
  EXPECT_FALSE(DecodeCheckpointFile(none).has_value());
}

// Older agents wrote one frame, no generation: read as slot 0.
TEST(CheckpointFileTest, ReadsASingleFrame) {
  const std::optional<SpoolCheckpoint> c = DecodeCheckpointFile(EncodeCheckpoint(Checkpoint(6, 0)));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->last_seq, 6u);
  EXPECT_EQ(c->generation, 0u);
}

TEST(CheckpointFileTest, WritesAlternateSlotsInPlace) {
  testing::TempDir tmp;
  auto file = CheckpointFile::Create(tmp.path(), Checkpoint(1, 1));
  ASSERT_TRUE(file.ok());
  CheckpointFile f = std::move(file).value();
  EXPECT_FALSE(f.unsynced());
  for (uint64_t g = 2; g <= 5; ++g) {
    ASSERT_TRUE(f.Write(Checkpoint(g * 10, g), false).ok());
    EXPECT_TRUE(f.unsynced());
    const std::string data = testing::ReadAll(tmp.File("state"));
    ASSERT_EQ(data.size(), 8192u);
    EXPECT_EQ(DecodeCheckpointFile(data)->last_seq, g * 10);
    // The slot written before still holds the previous generation.
    const std::optional<SpoolCheckpoint> other =
        DecodeCheckpoint(std::string_view(data).substr(g % 2 == 0 ? 0 : 4096));
    ASSERT_TRUE(other.has_value());
    EXPECT_EQ(other->generation, g - 1);
  }
  ASSERT_TRUE(f.Sync().ok());
  EXPECT_FALSE(f.unsynced());
}

}  // namespace
}  // namespace trailkeep::agent
