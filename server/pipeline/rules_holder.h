// RulesHolder: the NDcPP rule set in force, swapped whole on SIGHUP.
//
// Readers (ClassifyStage) take a shared_ptr copy once per batch,
// so a reload never waits for classification in flight and never changes the
// rules under a batch.
// Concurrency: all methods are thread-safe.
#pragma once

#include <memory>
#include <mutex>

#include "common/ndcpp/rules.h"

namespace trailkeep {

class RulesHolder {
 public:
  void Set(std::shared_ptr<const ndcpp::RuleSet> rules) {
    std::lock_guard<std::mutex> lock(mu_);
    rules_ = std::move(rules);
  }
  std::shared_ptr<const ndcpp::RuleSet> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return rules_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const ndcpp::RuleSet> rules_;  // GUARDED_BY(mu_)
};

}  // namespace trailkeep
