// ExpiredHosts: which hosts a time-bounded query reaches have lost events to
// retention after the query's start, so a reader is told what is missing
// instead of finding it missing (docs/api.md, "Retention").
//
// A store-wide cut shows as an ingest_seq range before the first kept event;
// a per-host cut does not (other hosts' events stay around it), so it is
// named by host: each host that the filter's host glob and allowed patterns
// reach whose retention cut is after filter.since_us. Host states are few,
// so this reads them all. Pure reads; callable from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace trailkeep {

class Store;
struct EventFilter;

struct ExpiredHost {
  std::string host;
  int64_t cut_us = 0;          // events received before this were removed
  int64_t oldest_kept_us = 0;  // the host's oldest event still stored (0: none)
};

// In host order. since_us INT64_MIN (no lower bound) reaches every cut.
Result<std::vector<ExpiredHost>> HostsCutAfterSince(const Store& store, const EventFilter& filter);

// "web01 before 2026-06-01T00:00:00.000000Z, db-1 before …": at most
// `max_named` hosts, then "and N more hosts".
std::string DescribeExpiredHosts(const std::vector<ExpiredHost>& hosts, size_t max_named);

}  // namespace trailkeep
