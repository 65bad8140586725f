#include "server/pipeline/audit_grouping_stage.h"

#include <iterator>

#include "common/audit/identity_map.h"
#include "common/base/utf8.h"
#include "server/pipeline/audit_grouping.h"
#include "server/pipeline/classify_stage.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

void AuditGroupingStage::Prepare(std::vector<v1::Event>* events, CommitExtras* extras) {
  for (v1::Event& e : *events) {
    // The grouping reads MSG as the store will keep it (the store escapes
    // invalid UTF-8 in every string field), so what it derives from a record
    // or an inventory is what a reader of the stored event would derive.
    if ((e.audit_member() || audit::IsInventoryEvent(e.app_name(), e.msgid())) &&
        !IsValidUtf8(e.msg())) {
      e.set_msg(EscapeInvalidUtf8(e.msg()));
    }
  }
  std::vector<v1::Event> grouped;
  grouping_->OnCommitted(*events, clock_->NowMicros(), &grouped);
  if (grouped.empty()) return;
  if (classify_ != nullptr) classify_->Classify(&grouped);
  extras->events_added += grouped.size();
  events->insert(events->end(), std::make_move_iterator(grouped.begin()),
                 std::make_move_iterator(grouped.end()));
}

}  // namespace trailkeep
