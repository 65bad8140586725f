#include "server/pipeline/classify_stage.h"

#include <gtest/gtest.h>

#include "server/pipeline/rules_holder.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

constexpr const char* kRules = R"(
[[rule]]
name = "ssh-fail"
app = ["sshd"]
msg = '^Failed password'
refs = ["FIA_UIA_EXT.1"]
description = "remote login failed"
)";

v1::Event SshdFailure() {
  v1::Event e;
  e.set_app_name("sshd");
  e.set_msg("Failed password for root from 192.0.2.1 port 22 ssh2");
  return e;
}

std::shared_ptr<const ndcpp::RuleSet> Load(const char* text) {
  auto rules = ndcpp::RuleSet::LoadString(text, "test");
  EXPECT_TRUE(rules.ok()) << rules.status().ToString();
  return rules.ok() ? std::move(rules).value() : nullptr;
}

TEST(ClassifyStageTest, ClassifiesEveryEventButAuditMembers) {
  RulesHolder holder;
  holder.Set(Load(kRules));
  const ClassifyStage stage(&holder);
  std::vector<v1::Event> batch = {SshdFailure(), SshdFailure()};
  batch[1].set_audit_member(true);  // its group is classified instead
  stage.Classify(&batch);
  ASSERT_EQ(batch[0].ndcpp_refs_size(), 1);
  EXPECT_EQ(batch[0].ndcpp_refs(0), "FIA_UIA_EXT.1");
  EXPECT_EQ(batch[0].description(), "remote login failed");
  EXPECT_EQ(batch[1].ndcpp_refs_size(), 0);
}

TEST(ClassifyStageTest, NoRulesNoClassificationAndAReloadTakesEffectOnTheNextBatch) {
  const ClassifyStage none(nullptr);
  std::vector<v1::Event> batch = {SshdFailure()};
  none.Classify(&batch);
  EXPECT_EQ(batch[0].ndcpp_refs_size(), 0);

  RulesHolder holder;  // empty until loaded
  const ClassifyStage stage(&holder);
  stage.Classify(&batch);
  EXPECT_EQ(batch[0].ndcpp_refs_size(), 0);
  holder.Set(Load(kRules));
  stage.Classify(&batch);
  EXPECT_EQ(batch[0].ndcpp_refs_size(), 1);
}

}  // namespace
}  // namespace trailkeep
