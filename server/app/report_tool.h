// `trailkeepd report --db DIR NAME`: a fleet report (server/report/report.h)
// from the local store, opened as a secondary instance like query and hosts.
#pragma once

#include <string>

#include "common/base/clock.h"

namespace trailkeep {

struct ReportToolOptions {
  std::string db;
  std::string name;
  std::string since, until;  // RFC 3339 or relative ("7d"); on receive time
  std::string host;          // glob
  bool failed = false;       // auth --failed
  bool hostname_mismatch = false, hostname_match = false;  // as QueryOptions'
  std::string format = "text";
  ClockPtr clock = MakeSystemClock();  // "now" of relative times
};

// Exit code: 0, 1 store error, 2 bad arguments.
int RunReport(const ReportToolOptions& options);

}  // namespace trailkeep
