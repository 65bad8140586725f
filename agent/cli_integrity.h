// The chain-integrity commands of `trailkeep` over the network (docs/api.md):
//
//   trailkeep verify --server URL --host H
//       GET /v1/verify: the collector re-verifies H's stored HMAC chain. Prints
//       exactly what `trailkeepd verify --db` prints (one line per broken
//       range, then the summary) on stdout, progress on stderr.
//   trailkeep verify --server URL --seal-key FILE [--host GLOB]
//       Pages through GET /v1/events?seal_proof=true from cursor 0 and checks
//       the store's seal on this machine (agent/seal_export_check.h), with the
//       verification key that never leaves it.
//   trailkeep integrity --server URL --since T [--host GLOB] [--kind K]
//       GET /v1/integrity: the integrity events the collector recorded.
#pragma once

#include <string>

#include "common/api/api_client.h"

namespace trailkeep {

// Exit code: 0 when the chain is clean, 1 when it is broken, 2 on a usage,
// connection or server error (unknown host, no key, refused).
int RunRemoteVerify(const ClientOptions& options, const std::string& host);
// Exit code: 0 clean, 1 findings, 2 usage, key, connection or server error.
int RunRemoteVerifySeal(const ClientOptions& options, const std::string& key_file,
                        const std::string& host_glob);

struct IntegrityArgs {
  std::string since = "24h", until, host, kind;
  std::string format = "text";  // text | json
};

// Exit code: 0 listed (even when empty), 1 on an error.
int RunRemoteIntegrity(const ClientOptions& options, const IntegrityArgs& args);

}  // namespace trailkeep
