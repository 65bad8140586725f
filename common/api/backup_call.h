// RequestBackup: asks a running collector for a consistent copy of its store
// (POST /v1/backup, admin scope; docs/api.md) and returns the line that both
// `trailkeep backup --server` and `trailkeepd backup` print:
//   backup PATH (store STORE, up to ingest_seq N, CREATED)
// Errors: ApiClient's (Aborted when interrupted), Corruption when the answer
// is not the JSON object the API promises.
#pragma once

#include <string>

#include "common/api/api_client.h"
#include "common/base/status.h"

namespace trailkeep {

Result<std::string> RequestBackup(ApiClient* client);

}  // namespace trailkeep
