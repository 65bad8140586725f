// Fleet reports over the store, like aureport but for every host and by
// NDcPP SFR: `trailkeepd report --db DIR NAME` today, GET /v1/report/NAME
// of the HTTPS API later (both render the same Report).
//
//   auth [--failed]  identification/authentication events (FIA_UIA_EXT.1,
//                    FIA_UAU_EXT.2, FIA_AFL.1), with user, origin, outcome
//   logins           logins that succeeded or failed, and session ends
//   time-changes     FPT_STM_EXT.1 and FCS_NTP_EXT.1 evidence
//   updates          FMT_MOF.1/ManualUpdate and FPT_TUD_EXT.1 evidence
//   tls-failures     TLS/HTTPS/DTLS session and certificate failures
//   ndcpp            per SFR of the auditable-events table
//                    (common/ndcpp/auditable_events.h): evidence events,
//                    hosts, last seen; SFRs with none are listed as such
//
// Reports read the by_ndcpp index (one scan per SFR), so their cost follows
// the evidence, not the store size. Pure reads: callable from any thread,
// concurrently with ingest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace trailkeep {

class Store;

struct ReportOptions {
  std::string name;              // one of ReportNames()
  int64_t since_us = INT64_MIN;  // receive time, inclusive
  int64_t until_us = INT64_MAX;
  std::string host;  // glob, "" = every host
  // The caller's host restriction (API tokens): every row, count and host
  // set comes only from events of hosts matching one of these. Empty = all.
  std::vector<std::string> allowed_hosts;
  bool failed_only = false;  // auth: failures only
  size_t max_rows = 10000;   // event reports stop there (truncated = true)
  // Only events with (true) / without (false) Event.hostname_mismatch.
  std::optional<bool> hostname_mismatch;
};

struct Report {
  std::string name;
  std::string title;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  bool truncated = false;
  // ndcpp: the SFRs of the table with no evidence at all.
  std::vector<std::string> without_evidence;
};

const std::vector<std::string>& ReportNames();

// InvalidArgument for an unknown name; the store's error when a scan fails.
Result<Report> BuildReport(const Store& store, const ReportOptions& options);

}  // namespace trailkeep
