// GET /v1/integrity: the integrity events the chain verifier recorded (gaps,
// bad MACs, conflicts, replays, chain restarts, truncated tails, ...) in the
// store's `integrity` CF, filtered by detection time, host glob and kind.
//
// Pure code over a Store; callable from any thread (the API runs it on its
// read pool).
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "server/sinks/export_request.h"

namespace trailkeep::v1 {
class IntegrityEvent;
}

namespace trailkeep {

class Store;

struct IntegrityListing {
  std::vector<v1::IntegrityEvent> events;  // in recording order
  bool truncated = false;                  // more matched than req.limit
};

// `allowed_hosts`: the caller's host restriction (empty = every host).
Result<IntegrityListing> ListIntegrity(const Store& store, const IntegrityRequest& req,
                                       const std::vector<std::string>& allowed_hosts);

// {"time", "host", "kind", "epoch" (string), "first_seq", "last_seq",
//  "detail", "ingest_seq"} on one line, no LF.
std::string IntegrityEventToJson(const v1::IntegrityEvent& event);

// The response body: one JSON object {"integrity": [...], "count", "truncated"},
// or NDJSON (one event per line, then {"count", "truncated"}).
std::string IntegrityListingBody(const IntegrityListing& listing, bool ndjson);

}  // namespace trailkeep
