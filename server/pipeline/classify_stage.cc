#include "server/pipeline/classify_stage.h"

#include "server/pipeline/rules_holder.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

void ClassifyStage::Classify(std::vector<v1::Event>* events) const {
  if (rules_ == nullptr) return;
  const auto rules = rules_->Get();
  if (!rules) return;
  for (auto& e : *events) {
    if (!e.audit_member()) rules->Classify(&e);
  }
}

}  // namespace trailkeep
