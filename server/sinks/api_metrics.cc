#include "server/sinks/api_endpoints.h"
#include "server/sinks/api_session.h"
#include "server/sinks/prometheus.h"
#include "server/sinks/store_metrics.h"

namespace trailkeep {

CounterRegistry::Registration RegisterApiMetrics(const ExportHttpsServer::Impl& server) {
  const ApiCounters& c = server.counters;
  std::vector<CounterRegistry::Counter> counters = {
      GaugeOf("api_connections", "open HTTPS API connections", c.connections),
      CounterOf("api_requests_total", "HTTPS API requests read", c.requests),
      CounterOf("api_denied_total", "HTTPS API requests refused with 401 or 403", c.denied),
      CounterOf("api_tls_failures_total", "failed TLS handshakes on the export listener",
                c.tls_failures),
      CounterOf("api_connections_refused_total",
                "HTTPS API connections refused at accept by the per-peer or total limits",
                c.connections_refused),
      CounterOf("api_connections_evicted_total",
                "unauthenticated HTTPS API connections closed to make room for new ones",
                c.connections_evicted),
      CounterOf("export_events_total", "events sent by GET /v1/events", c.events_exported),
      GaugeOf("export_streams", "GET /v1/events responses in flight", c.streams),
      GaugeOf("tail_sessions", "open GET /v1/tail streams", c.tail_sessions),
      CounterOf("tail_events_total", "events sent by GET /v1/tail", c.tail_events),
      CounterOf("tail_missed_total",
                "events dropped from the queues of tail subscribers that could not keep up",
                c.tail_missed),
      GaugeOf("verify_running", "GET /v1/verify runs in progress", c.verifies),
      CounterOf("verify_runs_total", "GET /v1/verify runs started", c.verify_runs),
  };
  // Then the store's samples, one ListHosts pass per scrape.
  return server.metrics->Register(std::move(counters), [&server](std::vector<Metric>* out) {
    return AppendStoreMetrics(*server.store, out);
  });
}

void ServeMetrics(ApiSession& session) {
  session.AnswerFromReadPool(
      [server = session.server_ptr(), who = session.principal()]() -> Result<std::string> {
        auto m = server->metrics->Collect();
        if (!m.ok()) return m.status();
        return PrometheusText(
            VisibleMetrics(std::move(m).value(), who.Restricted(),
                           [&who](const std::string& h) { return who.MaySee(h); }));
      },
      {"text/plain; version=0.0.4; charset=utf-8", /*no_store=*/false, ""});
}

}  // namespace trailkeep
