// ScanHostEvents: every stored event of one host, in ingest order, through
// the by_host index. Shared by `trailkeepd verify --db` and GET /v1/verify,
// so both re-verify exactly the same events.
//
// Concurrency: pure reads of a Store; callable from any thread.
#pragma once

#include <functional>
#include <string>

#include "common/base/status.h"

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

class Store;

// Calls `fn` for each stored event of the host named exactly `host`, with
// ingest_seq <= the store's LastSeq() at the call, in ingest order, until
// `fn` returns false. NotFound when the store knows no such host.
Status ScanHostEvents(const Store& store, const std::string& host,
                      const std::function<bool(const v1::Event&)>& fn);

}  // namespace trailkeep
