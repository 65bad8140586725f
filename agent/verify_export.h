// `trailkeep verify --export FILE --key KEYFILE [--host H]`: verifies an
// NDJSON export (docs/event-schema.md) offline, with no collector, in two
// ways (docs/formats/hmac_chain.md, "What `verify --export` certifies"):
//   - the HMAC chain: each event is rebuilt from its raw bytes and exported
//     chain fields and fed to ChainAuditor (common/chain/chain_audit.h),
//     exactly as `trailkeepd verify` does with the store;
//   - every field the export shows: ExportFieldCheck (export_field_check.h)
//     parses the raw bytes again as the collector did and names each key that
//     differs ("field_differs host=H epoch=E seq=S line L: KEY: export X,
//     signed message Y").
// One "unverified (not covered by the chain): ..." line lists what the
// collector derived and the agent never signed.
//
// KEYFILE is one host's key (64 hex digits, mode 0600), so one host is
// verified: H, or the only host with chained events in the export. With
// `--keys-dir DIR` instead, each host's keys are DIR/H.key and its retired
// keys DIR/H.retired/<id>.key (common/wire/key_folder.h, the collector's
// keys_dir), so a chain verifies across key rotations. Output:
// one line per broken range and per differing field, the unverified line,
// then "OK N events" or "BROKEN: ..." on stdout; exit 0 clean, 1 broken or
// a field differs, 2 usage or I/O error (unreadable file or key, a line that
// is not JSON, several chained hosts and no --host). FILE "-" reads stdin.
#pragma once

#include <string>

namespace trailkeep::agent {

// Exactly one of `key_file` and `keys_dir` is set.
int RunVerifyExport(const std::string& file, const std::string& key_file,
                    const std::string& host_filter, const std::string& keys_dir = "");

}  // namespace trailkeep::agent
