#include "server/app/report_tool.h"

#include <iostream>

#include "common/base/time_format.h"
#include "server/app/store_tools.h"
#include "server/report/report.h"
#include "server/report/report_format.h"
#include "server/store/store.h"

namespace trailkeep {
namespace {

// Parses --since/--until into *out; false (message printed) when malformed.
bool TimeArg(const std::string& flag, const std::string& text, int64_t now, int64_t* out) {
  if (text.empty()) return true;
  auto t = ParseTimeArg(text, now);
  if (!t) {
    std::cerr << "trailkeepd report: " << flag << " '" << text
              << "' is neither RFC 3339 nor a duration like 15m, 2h, 7d\n";
    return false;
  }
  *out = *t;
  return true;
}

}  // namespace

int RunReport(const ReportToolOptions& o) {
  ReportOptions r;
  r.name = o.name;
  r.host = o.host;
  r.failed_only = o.failed;
  if (o.hostname_mismatch || o.hostname_match) r.hostname_mismatch = o.hostname_mismatch;
  const int64_t now = o.clock->NowMicros();
  if (!TimeArg("--since", o.since, now, &r.since_us) ||
      !TimeArg("--until", o.until, now, &r.until_us)) {
    return 2;
  }
  auto store = OpenStoreForReading(o.db);
  if (!store) return 1;
  auto report = BuildReport(*store, r);
  if (!report.ok()) {
    std::cerr << "trailkeepd report: " << report.status().message() << "\n";
    return report.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  std::cout << (o.format == "json" ? ReportToJson(report.value()) + "\n"
                                   : ReportToText(report.value()));
  return 0;
}

}  // namespace trailkeep
