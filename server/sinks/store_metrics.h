// The store's share of GET /metrics: per source host (events, bytes,
// duplicates, integrity alarms, unauthenticated events, last seen) from the
// host states, and the engine statistics (Store::EngineStats).
//
// Reads the store (one ListHosts pass): call it on a worker, not an I/O thread.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "server/sinks/prometheus.h"

namespace trailkeep {

class Store;

// Appends the samples: the per-host ones carry their host (Metric::source_host)
// for VisibleMetrics; the engine statistics are fleet-wide.
Status AppendStoreMetrics(const Store& store, std::vector<Metric>* out);

}  // namespace trailkeep
