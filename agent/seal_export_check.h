// SealExportCheck: the store seal (docs/formats/seal.md) checked on an NDJSON
// export pulled with `seal_proof=true`, away from the collector, by
// `trailkeep verify --seal-key FILE (--export FILE | --server URL)`.
//
// Each event line is rebuilt into the Event the collector sealed (its
// `seal.stored_b64` proof, `raw_b64`, `ingest_seq` and seal element:
// common/event/seal_proof.h) and fed, in the export's order, to the same
// SealVerifier `trailkeepd verify --seal-key --db` runs. Then the line itself
// must be what that Event renders to: every member a SIEM reads, the ones the
// collector derived (host, peer, refs, description, audit enrichment,
// integrity) included, so an edit anywhere in the line is a `field_differs`
// finding naming the member.
//
// An export of some hosts (a host-limited token, or `host_glob`) is checked
// for those hosts: ticks' heads of others are not claimed. The collector's
// own events (ticks, retention cuts and the retention in force) must be in
// the export for truncation and cuts to be judged.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "common/seal/seal_verifier.h"

namespace trailkeep::agent {

class SealExportCheck {
 public:
  // `host_glob`: "" = every host in the export.
  SealExportCheck(VerificationKey key, std::string host_glob);

  // One line of the export. A page's trailer (`next_cursor`) and blank lines
  // are skipped. InvalidArgument for a line that cannot be checked at all:
  // not a JSON object, or sealed but without its proof (exported without
  // seal_proof=true).
  Status AddLine(std::string_view line, uint64_t line_no);
  SealVerifyResult Finish();

 private:
  SealVerifier verifier_;
  std::string host_glob_;
  std::vector<SealFinding> field_findings_;
};

// `trailkeep verify --seal-key KEY --export FILE [--host GLOB]` (FILE "-":
// stdin). Prints each finding, then the summary; exit 0 clean, 1 findings,
// 2 usage or I/O error.
int RunVerifySealExport(const std::string& file, const std::string& key_file,
                        const std::string& host_glob);

// Prints a result as both verify commands do; returns the exit code (0, 1).
int PrintSealResult(const SealVerifyResult& result);

}  // namespace trailkeep::agent
