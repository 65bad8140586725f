// The network commands of `trailkeep` (docs/api.md, "The `trailkeep` CLI over the network"):
// tail, query and hosts against a collector's HTTPS API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/api/api_client.h"

namespace trailkeep {

struct RemoteFilter {
  std::string host, ref, text, since, until;
};

struct TailArgs {
  RemoteFilter filter;
  uint64_t backlog = 10;
  std::optional<uint64_t> cursor;  // resume point: everything after it, then live
  std::string format = "text";     // text | json
};

struct QueryArgs {
  RemoteFilter filter;
  uint64_t limit = 0;  // 0 = every matching event
  uint64_t cursor = 0;
  std::string format = "json";
};

// Each returns the process exit code: 0 ok (and Ctrl-C), 1 error, 2 usage.
int RunRemoteTail(const ClientOptions& options, const TailArgs& args);
int RunRemoteQuery(const ClientOptions& options, const QueryArgs& args);
int RunRemoteHosts(const ClientOptions& options, const std::string& format);
// `trailkeep backup --server`: POST /v1/backup; prints the folder the collector
// wrote its consistent copy to, and the last ingest_seq it holds.
int RunRemoteBackup(const ClientOptions& options);

}  // namespace trailkeep
