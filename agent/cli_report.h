// `trailkeep report --server URL NAME`: a fleet report (auth, logins,
// time-changes, updates, tls-failures, ndcpp) built by the collector
// (GET /v1/report/NAME, docs/api.md) and printed exactly as
// `trailkeepd report --db` prints it on the collector host.
#pragma once

#include <string>

#include "common/api/api_client.h"

namespace trailkeep {

struct ReportArgs {
  std::string name;
  std::string since, until, host;
  bool failed = false;
  std::string format = "text";  // text | json
};

// Exit code: 0 printed, 1 on an error (unknown report, refused, unreachable).
int RunRemoteReport(const ClientOptions& options, const ReportArgs& args);

}  // namespace trailkeep
