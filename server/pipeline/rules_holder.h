// RulesHolder: the NDcPP rule set in force, swapped whole on SIGHUP.
//
// Readers take a shared_ptr copy once per batch, so a reload never waits for
// classification in flight and never changes the rules under a batch.
// Concurrency: all methods are thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "common/ndcpp/rules.h"
#include "trailkeep/v1/record.pb.h"

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
  // Adds the NDcPP refs and description of every event but audit members
  // (their grouped event is classified); no-op without rules.
  void Classify(std::vector<v1::Event>* events) const {
    const auto rules = Get();
    if (!rules) return;
    for (auto& e : *events) {
      if (!e.audit_member()) rules->Classify(&e);
    }
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const ndcpp::RuleSet> rules_;  // GUARDED_BY(mu_)
};

}  // namespace trailkeep
