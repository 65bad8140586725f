#include "server/app/seal_ticker.h"

#include <string>

#include "server/selfaudit/self_audit.h"

namespace trailkeep {

void SealTicker::TickNow(const char* why) {
  const uint64_t period = schedule_.PeriodAt(clock_->NowMicros());
  audit_->Record(SelfEventKind::kSealTick, "",
                 std::string("seal tick (") + why + "), period " + std::to_string(period),
                 {{"reason", why}});
}

void SealTicker::Arm() {
  const int64_t now = clock_->NowMicros();
  const int64_t next = schedule_.PeriodStartUs(schedule_.PeriodAt(now) + 1);
  // A few ms past the boundary, so the clock the stage reads is past it too.
  timer_.expires_after(std::chrono::microseconds(std::max<int64_t>(next - now, 0) + 5'000));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    TickNow("period");
    Arm();
  });
}

}  // namespace trailkeep
