// KeySchedule: which key is in force where, as the collector and the offline
// auditor both judge a rotation (common/chain/key_schedule.h).
#include "common/chain/key_schedule.h"

#include <vector>

#include <gtest/gtest.h>

namespace trailkeep {
namespace {

const std::string kA = "aaaaaaaaaaaaaaaa";
const std::string kB = "bbbbbbbbbbbbbbbb";
const std::string kC = "cccccccccccccccc";

TEST(KeyScheduleTest, TheFirstKeyStartsIt) {
  KeySchedule s;
  EXPECT_EQ(s.Apply(5, 1, kA, true), KeyVerdict::kFirst);
  EXPECT_EQ(s.Apply(5, 2, kA, false), KeyVerdict::kInForce);
  ASSERT_EQ(s.switches().size(), 1u);
}

TEST(KeyScheduleTest, OldKeyUpToTheSwitchNewKeyFromIt) {
  KeySchedule s(std::vector<KeySwitch>{{5, 1, kA}});
  EXPECT_EQ(s.Apply(5, 10, kB, true), KeyVerdict::kSwitch);
  EXPECT_EQ(s.Judge(5, 9, kA, false), KeyVerdict::kInForce);   // s-1: old key
  EXPECT_EQ(s.Judge(5, 10, kB, false), KeyVerdict::kInForce);  // s: new key
  EXPECT_EQ(s.Judge(5, 11, kB, false), KeyVerdict::kInForce);
  EXPECT_EQ(s.Judge(5, 10, kA, false), KeyVerdict::kRetired);
  EXPECT_EQ(s.Judge(5, 11, kA, true), KeyVerdict::kRetired);  // cannot come back
  EXPECT_EQ(s.Judge(5, 9, kB, false), KeyVerdict::kNotInForce);
  EXPECT_EQ(s.Judge(6, 1, kB, false), KeyVerdict::kInForce);  // the next epoch
  EXPECT_EQ(s.Judge(6, 1, kA, true), KeyVerdict::kRetired);
}

TEST(KeyScheduleTest, OnlyAnEventThatNamesAnUnusedKeySwitches) {
  KeySchedule s(std::vector<KeySwitch>{{5, 1, kA}});
  EXPECT_EQ(s.Apply(5, 10, kB, false), KeyVerdict::kNotInForce);  // not named
  EXPECT_EQ(s.Apply(5, 10, kB, true), KeyVerdict::kSwitch);
  EXPECT_EQ(s.Apply(5, 8, kC, true), KeyVerdict::kNotInForce);  // before the last switch
  EXPECT_EQ(s.Apply(5, 20, kC, true), KeyVerdict::kSwitch);
  EXPECT_EQ(s.switches().size(), 3u);
  EXPECT_EQ(s.Judge(5, 15, kB, false), KeyVerdict::kInForce);
  EXPECT_EQ(s.Judge(5, 25, kB, false), KeyVerdict::kRetired);
}

TEST(KeyScheduleTest, HistoryBeforeTheScheduleIsTheFirstKeys) {
  KeySchedule s(std::vector<KeySwitch>{{5, 100, kA}, {5, 200, kB}});
  EXPECT_EQ(s.Judge(5, 50, kA, false), KeyVerdict::kInForce);
  EXPECT_EQ(s.Judge(4, 50, kC, false), KeyVerdict::kInForce);  // never in force since
  EXPECT_EQ(s.Judge(5, 50, kB, false), KeyVerdict::kNotInForce);
}

TEST(KeyScheduleTest, ExplainNamesTheReasonAndTheSwitch) {
  KeySchedule s(std::vector<KeySwitch>{{5, 1, kA}, {5, 10, kB}});
  EXPECT_EQ(s.Explain(KeyVerdict::kRetired, 5, 12, kA),
            "retired_key: MAC verifies under key " + kA + ", retired at epoch 5 seq 10 (key " + kB +
                " is in force there)");
  EXPECT_EQ(s.Explain(KeyVerdict::kInForce, 5, 12, kB), "");
}

}  // namespace
}  // namespace trailkeep
