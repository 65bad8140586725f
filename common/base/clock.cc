#include "common/base/clock.h"

namespace trailkeep {

// The one place the product reads the wall clock.
int64_t SystemClock::NowMicros() const {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  return duration_cast<microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

ClockPtr MakeSystemClock() { return std::make_shared<const SystemClock>(); }

}  // namespace trailkeep
