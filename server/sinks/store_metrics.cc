#include "server/sinks/store_metrics.h"

#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

struct HostMetric {
  const char* name;
  const char* help;
  const char* type;
  double (*value)(const v1::HostState&);
};

// One block per name, so the samples of each name stay adjacent.
constexpr HostMetric kHostMetrics[] = {
    {"source_events_total", "events stored per source host", "counter",
     [](const v1::HostState& h) { return static_cast<double>(h.events()); }},
    {"source_bytes_total", "bytes of raw messages stored per source host", "counter",
     [](const v1::HostState& h) { return static_cast<double>(h.bytes()); }},
    {"source_unauthenticated_events_total",
     "events of a source host received without an authenticated identity", "counter",
     [](const v1::HostState& h) { return static_cast<double>(h.unauthenticated_events()); }},
    {"source_duplicates_dropped_total", "resent agent events already stored, per source host",
     "counter", [](const v1::HostState& h) { return static_cast<double>(h.duplicates_dropped()); }},
    {"source_integrity_alarms_total",
     "integrity events (gaps, bad MACs, conflicts, ...) recorded per source host", "counter",
     [](const v1::HostState& h) { return static_cast<double>(h.integrity_alarms()); }},
    {"source_chain_contiguous_seq", "highest seq of the current epoch with no gap before it",
     "gauge", [](const v1::HostState& h) { return static_cast<double>(h.contiguous_seq()); }},
    {"source_last_seen_seconds", "when a source host was last heard from (Unix time)", "gauge",
     [](const v1::HostState& h) { return static_cast<double>(h.last_seen_us()) / 1e6; }},
};

}  // namespace

Status AppendStoreMetrics(const Store& store, std::vector<Metric>* out) {
  std::vector<v1::HostState> hosts;
  Status s = store.ListHosts([&](const v1::HostState& h) { hosts.push_back(h); });
  if (!s.ok()) return s;
  for (const HostMetric& m : kHostMetrics) {
    for (const auto& h : hosts) {
      out->push_back(
          {m.name, m.help, m.type, m.value(h), PrometheusLabel("host", h.name()), h.name()});
    }
  }
  for (const auto& [name, value] : store.EngineStats()) {
    out->push_back({"rocksdb_" + name, "RocksDB statistic " + name + " (all column families)",
                    "gauge", static_cast<double>(value)});
  }
  out->push_back({"store_last_ingest_seq", "highest ingest_seq committed", "gauge",
                  static_cast<double>(store.LastSeq())});
  return Status::Ok();
}

}  // namespace trailkeep
