#include "server/report/report.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/base/time_format.h"
#include "common/ndcpp/auditable_events.h"
#include "server/report/event_facts.h"
#include "server/store/event_query.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

struct EventReportSpec {
  std::string_view name, title;
  std::vector<std::string> refs;
  // Which events of those refs the report keeps.
  bool (*keep)(const v1::Event&, const ReportOptions&);
};

bool KeepAll(const v1::Event&, const ReportOptions&) { return true; }

bool KeepAuth(const v1::Event& e, const ReportOptions& o) {
  return !o.failed_only || OutcomeOf(e) == Outcome::kFailure;
}

// Logins (aureport -l): login successes and failures, and session ends;
// other authentication uses (sudo, su) are the auth report's.
bool KeepLogin(const v1::Event& e, const ReportOptions&) { return IsLoginEvent(e); }

const std::vector<EventReportSpec>& EventReports() {
  static const std::vector<EventReportSpec> kSpecs = {
      {"auth",
       "Identification and authentication",
       {"FIA_UIA_EXT.1", "FIA_UAU_EXT.2", "FIA_AFL.1"},
       KeepAuth},
      {"logins",
       "Logins and session ends",
       {"FIA_UIA_EXT.1", "FTA_SSL.3", "FTA_SSL.4", "FTA_SSL_EXT.1"},
       KeepLogin},
      {"time-changes", "Time changes", {"FPT_STM_EXT.1", "FCS_NTP_EXT.1"}, KeepAll},
      {"updates",
       "Manual updates and their results",
       {"FMT_MOF.1/ManualUpdate", "FPT_TUD_EXT.1"},
       KeepAll},
      {"tls-failures",
       "TLS, HTTPS and certificate failures",
       {"FCS_TLSC_EXT.1", "FCS_TLSC_EXT.2", "FCS_TLSS_EXT.1", "FCS_TLSS_EXT.2", "FCS_HTTPS_EXT.1",
        "FCS_DTLSC_EXT.1", "FCS_DTLSS_EXT.1", "FIA_X509_EXT.1", "FIA_X509_EXT.1/Rev"},
       KeepAll},
  };
  return kSpecs;
}

EventFilter FilterOf(const ReportOptions& o, const std::string& ref) {
  EventFilter f;
  f.since_us = o.since_us;
  f.until_us = o.until_us;
  f.host = o.host;
  f.ref = ref;
  f.allowed_hosts = o.allowed_hosts;
  f.hostname_mismatch = o.hostname_mismatch;
  return f;
}

// Every event under any of `refs`, once, in ingest order.
Status CollectEvents(const Store& store, const ReportOptions& o,
                     const std::vector<std::string>& refs, std::map<uint64_t, v1::Event>* out) {
  const uint64_t max_seq = store.LastSeq();
  for (const auto& ref : refs) {
    Status s = QueryEvents(store, FilterOf(o, ref), 0, max_seq, [out](const v1::Event& e) {
      out->try_emplace(e.ingest_seq(), e);
      return true;
    });
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Result<Report> EventReport(const Store& store, const ReportOptions& o,
                           const EventReportSpec& spec) {
  std::map<uint64_t, v1::Event> events;
  Status s = CollectEvents(store, o, spec.refs, &events);
  if (!s.ok()) return s;
  Report r;
  r.name = std::string(spec.name);
  r.title = std::string(spec.title);
  r.columns = {"time", "host", "program", "outcome", "user", "origin", "refs", "description"};
  for (const auto& [seq, e] : events) {
    if (!spec.keep(e, o)) continue;
    if (r.rows.size() == o.max_rows) {
      r.truncated = true;
      break;
    }
    const EventFacts facts = FactsOf(e);
    std::string refs;
    for (const auto& ref : e.ndcpp_refs()) refs += (refs.empty() ? "" : ",") + ref;
    r.rows.push_back(
        {FormatRfc3339Micros(e.event_time_us() != 0 ? e.event_time_us() : e.receive_time_us()),
         e.host(), e.app_name(), std::string(OutcomeName(OutcomeOf(e))), facts.user, facts.origin,
         refs, e.description()});
  }
  return r;
}

Result<Report> NdcppReport(const Store& store, const ReportOptions& o) {
  Report r;
  r.name = "ndcpp";
  r.title = "NDcPP auditable events: evidence per SFR";
  r.columns = {"sfr", "events", "hosts", "last_seen", "auditable_event"};
  const uint64_t max_seq = store.LastSeq();
  for (const auto& row : ndcpp::AuditableEvents()) {
    uint64_t count = 0;
    int64_t last = 0;
    std::set<std::string> hosts;
    Status s =
        QueryEvents(store, FilterOf(o, std::string(row.sfr)), 0, max_seq, [&](const v1::Event& e) {
          ++count;
          hosts.insert(e.host());
          last = std::max(last, e.receive_time_us());
          return true;
        });
    if (!s.ok()) return s;
    if (count == 0) r.without_evidence.emplace_back(row.sfr);
    r.rows.push_back({std::string(row.sfr), std::to_string(count), std::to_string(hosts.size()),
                      count == 0 ? "-" : FormatRfc3339Micros(last), std::string(row.event)});
  }
  return r;
}

}  // namespace

const std::vector<std::string>& ReportNames() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const auto& s : EventReports()) names.emplace_back(s.name);
    names.emplace_back("ndcpp");
    return names;
  }();
  return kNames;
}

Result<Report> BuildReport(const Store& store, const ReportOptions& options) {
  if (options.name == "ndcpp") return NdcppReport(store, options);
  for (const auto& spec : EventReports()) {
    if (spec.name == options.name) return EventReport(store, options, spec);
  }
  return Status::InvalidArgument("unknown report '" + options.name + "'");
}

}  // namespace trailkeep
