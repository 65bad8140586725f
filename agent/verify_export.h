// `trailkeep verify --export FILE --key KEYFILE [--host H]`: verifies the HMAC
// chain of an NDJSON export (docs/event-schema.md: `host`, `raw_b64`,
// `chain`) offline, with no collector: each event is rebuilt from its raw
// bytes and its exported chain fields and fed to ChainAuditor
// (common/wire/chain_audit.h), exactly as `trailkeepd verify` does with the
// store.
//
// KEYFILE is one host's key (64 hex digits, mode 0600), so one host is
// verified: H, or the only host with chained events in the export. Output
// and exit codes are those of `trailkeepd verify`: "OK N events" or one line
// per broken range plus a summary on stdout; 0 clean, 1 broken, 2 usage or
// I/O error (unreadable file or key, a line that is not JSON, several
// chained hosts and no --host). FILE "-" reads stdin.
#pragma once

#include <string>

namespace trailkeep::agent {

int RunVerifyExport(const std::string& file, const std::string& key_file,
                    const std::string& host_filter);

}  // namespace trailkeep::agent
