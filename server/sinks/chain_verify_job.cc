#include "server/sinks/chain_verify_job.h"

#include <nlohmann/json.hpp>

#include "server/store/host_events.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

using json = nlohmann::json;

std::string Line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

Result<ChainAuditResult> AuditStoredChain(const Store& store, const std::string& host,
                                          const StoredChainAudit& o) {
  ChainAuditor auditor(o.key, o.enterprise_number);
  for (const auto& k : o.retired_keys) auditor.AddKey(k);
  if (o.progress_every > 0 && o.progress) auditor.SetProgress(o.progress_every, o.progress);
  auto state = store.GetHostState(host);
  if (state.ok() && state.value()) {
    auditor.SetRetentionCut(state.value()->cut_chain_epoch(), state.value()->cut_chain_seq());
  }
  bool cancelled = false;
  Status s = ScanHostEvents(store, host, [&](const v1::Event& e) {
    if (o.cancel != nullptr && o.cancel->load(std::memory_order_relaxed)) {
      cancelled = true;
      return false;
    }
    auditor.Add(e);
    return true;
  });
  if (!s.ok()) return s;
  if (cancelled) return Status::Aborted("verification cancelled");
  return auditor.Finish();
}

std::string VerifyProgressJson(const std::string& host, uint64_t events) {
  return Line({{"progress", {{"host", host}, {"events", events}}}});
}

std::string VerifyIssueJson(const ChainIssue& issue) {
  return Line({{"issue",
                {{"kind", ChainIssueKindName(issue.kind)},
                 {"epoch", std::to_string(issue.epoch)},
                 {"first_seq", issue.first_seq},
                 {"last_seq", issue.last_seq},
                 {"detail", issue.detail},
                 {"line", FormatChainIssue(issue)}}}});
}

std::string VerifyResultJson(const std::string& host, const ChainAuditResult& r) {
  return Line({{"result",
                {{"host", host},
                 {"clean", r.clean()},
                 {"summary", FormatChainSummary(r)},
                 {"events", r.events},
                 {"chained", r.chained},
                 {"verified", r.verified},
                 {"unsigned_events", r.unsigned_events},
                 {"heartbeats", r.heartbeats},
                 {"epochs", r.epochs},
                 {"issues", r.issues.size()}}}});
}

}  // namespace trailkeep
