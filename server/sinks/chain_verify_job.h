// Re-verification of one host's stored HMAC chain (ChainAuditor over
// ScanHostEvents), shared by `trailkeepd verify --db` and GET /v1/verify so
// both give the same verdict on the same store.
//
// VerifyResultJson & co. are the NDJSON lines of GET /v1/verify
// (docs/api.md): progress lines, one line per broken range, a final result.
// Each carries the text `trailkeepd verify` prints ("line"/"summary"), so the
// network CLI prints exactly what the local tool prints.
//
// Pure code over a Store: no I/O of its own, no logging; callable from any
// thread (it runs on the API's verify worker, never on an I/O thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/chain/chain_audit.h"

namespace trailkeep {

class Store;

struct StoredChainAudit {
  std::string key;                        // the host's raw HMAC key
  std::vector<std::string> retired_keys;  // its retired keys (key rotation)
  uint32_t enterprise_number = kDefaultEnterpriseNumber;
  uint64_t progress_every = 0;                // 0 = no progress callbacks
  std::function<void(uint64_t)> progress;     // events checked so far
  const std::atomic<bool>* cancel = nullptr;  // stops the scan early (Aborted)
};

// NotFound for an unknown host, Aborted when *cancel became true, else the
// auditor's verdict over every stored event of `host`.
Result<ChainAuditResult> AuditStoredChain(const Store& store, const std::string& host,
                                          const StoredChainAudit& options);

// {"progress": {"host": H, "events": N}}
std::string VerifyProgressJson(const std::string& host, uint64_t events);
// {"issue": {"kind", "epoch" (string), "first_seq", "last_seq", "detail", "line"}}
std::string VerifyIssueJson(const ChainIssue& issue);
// {"result": {"host", "clean", "summary", "events", "chained", "verified",
//  "unsigned_events", "heartbeats", "epochs", "issues"}}
std::string VerifyResultJson(const std::string& host, const ChainAuditResult& result);

}  // namespace trailkeep
