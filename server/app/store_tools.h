// Local store tools: `trailkeepd query` and `trailkeepd hosts` on a data
// folder, opened as a RocksDB secondary instance so they work while the
// collector runs. Output goes to stdout, errors to stderr; the return value
// is the process exit code.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/base/clock.h"

namespace trailkeep {

struct QueryOptions {
  std::string db;                      // data folder (holding store/) or the store folder itself
  std::string host;                    // glob, "" = all
  std::string ref;                     // NDcPP ref, "" = all
  std::string text;                    // case-insensitive substring of msg, "" = all
  std::string since, until;            // RFC 3339 or relative ("15m"); on receive time
  uint64_t limit = 0;                  // 0 = no limit
  std::string format = "text";         // text | json
  ClockPtr clock = MakeSystemClock();  // "now" of relative times
  // --hostname-mismatch / --hostname-match: only events with / without the
  // mark (Event.hostname_mismatch); neither = all.
  bool hostname_mismatch = false, hostname_match = false;
};

int RunQuery(const QueryOptions& options);
int RunHosts(const std::string& db, const std::string& format);

class Store;
// The store folder a --db argument names: the data folder (holding store/),
// a --dev folder (holding data/store/), or the store folder itself.
std::string ResolveStorePath(const std::string& db);
// Opens it as a RocksDB secondary instance; null (reason on stderr) on failure.
std::unique_ptr<Store> OpenStoreForReading(const std::string& db);

}  // namespace trailkeep
