#include "server/app/audit_group_timer.h"

#include <chrono>
#include <vector>

#include "server/pipeline/audit_grouping.h"
#include "server/pipeline/collector_events.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

void AuditGroupTimer::Start() {
  timer_.expires_after(interval_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    std::vector<v1::Event> grouped;
    grouping_->Expire(clock_->NowMicros(), &grouped);
    out_->OfferGrouped(&grouped);
    Start();
  });
}

void AuditGroupTimer::Flush() {
  // Open audit events go in as they are (incomplete) before the last commit.
  std::vector<v1::Event> grouped;
  grouping_->Flush(&grouped);
  out_->OfferGrouped(&grouped);
}

}  // namespace trailkeep
