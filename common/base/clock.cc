#include "common/base/clock.h"

#include "common/base/time_format.h"

namespace trailkeep {

int64_t SystemClock::NowMicros() const { return trailkeep::NowMicros(); }

ClockPtr MakeSystemClock() { return std::make_shared<const SystemClock>(); }

}  // namespace trailkeep
