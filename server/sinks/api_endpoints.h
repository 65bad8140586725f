// The HTTPS API's one-shot endpoints (docs/api.md), one file each: a read on
// the read pool, then one response. The streaming ones have their own
// headers (api_events.h, api_tail.h, api_verify.h). Called on the session's
// strand once the route's scope is checked. Internal to server/sinks.
#pragma once

#include <string>

#include "common/metrics/counter_registry.h"
#include "server/sinks/export_https_server.h"
#include "server/sinks/export_request.h"

namespace trailkeep {

class ApiSession;

// GET /v1/hosts: the host states the caller may see (api_hosts.cc).
void ServeHosts(ApiSession& session);
// GET /v1/integrity: recorded integrity events (api_integrity.cc).
void ServeIntegrity(ApiSession& session, const QueryParams& params);
// GET /v1/report/NAME: the report `trailkeepd report` builds (api_report.cc).
void ServeReport(ApiSession& session, const std::string& name, const QueryParams& params);
// GET /metrics: every sample of the server's CounterRegistry as Prometheus
// text, filtered for restricted callers (api_metrics.cc).
void ServeMetrics(ApiSession& session);
// POST /v1/backup: a consistent copy of the store in the backup folder (api_backup.cc).
void ServeBackup(ApiSession& session);
// Registers the API's counters and the store's samples (per source host,
// RocksDB) in server.metrics; the registration reads `server`.
CounterRegistry::Registration RegisterApiMetrics(const ExportHttpsServer::Impl& server);

}  // namespace trailkeep
