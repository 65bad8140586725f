#include "server/pipeline/mac_check_stage.h"

#include "common/wire/hmac_chain.h"
#include "server/pipeline/hmac_keyring.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

void MacCheckStage::Check(v1::Event* e) const {
  const ChainFields f = ApplyChainElement(enterprise_number_, e);
  if (f.kind == ChainKind::kNone) return;
  if (!f.error.empty()) {
    // A malformed element authenticates nothing: evidence, flagged.
    e->set_integrity(v1::INTEGRITY_BAD_MAC);
    return;
  }
  if (keys_ == nullptr) {
    e->set_integrity(v1::INTEGRITY_NO_KEY);
  } else {
    keys_->Authenticate(f, e);  // which of the host's keys, if any
  }
}

}  // namespace trailkeep
