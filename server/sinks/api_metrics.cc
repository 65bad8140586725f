#include "server/sinks/api_endpoints.h"
#include "server/sinks/api_session.h"
#include "server/sinks/prometheus.h"
#include "server/sinks/store_metrics.h"

namespace trailkeep {
namespace {

void AppendApiMetrics(const ApiCounters& c, std::vector<Metric>* out) {
  auto add = [out](const char* name, const char* help, const char* type, double v) {
    out->push_back({name, help, type, v, ""});
  };
  auto d = [](auto v) { return static_cast<double>(v); };
  add("api_connections", "open HTTPS API connections", "gauge", d(c.connections.load()));
  add("api_requests_total", "HTTPS API requests read", "counter", d(c.requests.load()));
  add("api_denied_total", "HTTPS API requests refused with 401 or 403", "counter",
      d(c.denied.load()));
  add("api_tls_failures_total", "failed TLS handshakes on the export listener", "counter",
      d(c.tls_failures.load()));
  add("api_connections_refused_total",
      "HTTPS API connections refused at accept by the per-peer or total limits", "counter",
      d(c.connections_refused.load()));
  add("api_connections_evicted_total",
      "unauthenticated HTTPS API connections closed to make room for new ones", "counter",
      d(c.connections_evicted.load()));
  add("export_events_total", "events sent by GET /v1/events", "counter",
      d(c.events_exported.load()));
  add("export_streams", "GET /v1/events responses in flight", "gauge", d(c.streams.load()));
  add("tail_sessions", "open GET /v1/tail streams", "gauge", d(c.tail_sessions.load()));
  add("tail_events_total", "events sent by GET /v1/tail", "counter", d(c.tail_events.load()));
  add("tail_missed_total",
      "events dropped from the queues of tail subscribers that could not keep up", "counter",
      d(c.tail_missed.load()));
  add("verify_running", "GET /v1/verify runs in progress", "gauge", d(c.verifies.load()));
  add("verify_runs_total", "GET /v1/verify runs started", "counter", d(c.verify_runs.load()));
}

}  // namespace

void ServeMetrics(ApiSession& session) {
  session.AnswerFromReadPool(
      [server = session.server_ptr(), who = session.principal()]() -> Result<std::string> {
        std::vector<Metric> m = server->metrics ? server->metrics() : std::vector<Metric>{};
        AppendApiMetrics(server->counters, &m);
        Status s = AppendStoreMetrics(*server->store, &m);
        if (!s.ok()) return s;
        return PrometheusText(
            VisibleMetrics(std::move(m), who.Restricted(),
                           [&who](const std::string& h) { return who.MaySee(h); }));
      },
      {"text/plain; version=0.0.4; charset=utf-8", /*no_store=*/false, ""});
}

}  // namespace trailkeep
