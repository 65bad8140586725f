// The HTTPS API's routing: a request's method and target to the endpoint that
// serves it, the scope it needs and its query parameters (docs/api.md).
//
// Refusals decided before any authentication, in this order: a method other
// than GET and POST (405), a query string that does not parse (400), a path
// no endpoint serves (404), a method the endpoint does not take (405: POST
// only for /v1/backup, GET for the rest). What follows routing (credentials, the scope, the
// endpoint's own parameters) is the session's.
//
// Pure code, no I/O: unit-tested, and http_request_fuzz routes through it.
#pragma once

#include <string>
#include <string_view>

#include "server/sinks/export_auth.h"
#include "server/sinks/export_request.h"

namespace trailkeep {

enum class ApiEndpoint { kEvents, kTail, kHosts, kIntegrity, kVerify, kReport, kMetrics, kBackup };

struct ApiRoute {
  ApiEndpoint endpoint = ApiEndpoint::kEvents;
  ApiScope scope = kScopeAdmin;  // the scope the caller must hold
  std::string path;              // the target without its query
  std::string report_name;       // kReport: NAME of /v1/report/NAME
  QueryParams params;
  // false for /v1/hosts, /metrics and /v1/backup: any parameter is a 400, answered
  // after authentication.
  bool takes_parameters = true;
};

struct RoutedRequest {
  unsigned refusal_status = 0;  // 0: routed; else 405, 400 or 404
  std::string refusal;          // the error body's message
  ApiRoute route;               // when routed

  bool ok() const { return refusal_status == 0; }
};

// `method` as the request line spells it ("GET"), `target` as the request
// line carries it ("/v1/events?cursor=1&host=a*").
RoutedRequest RouteRequest(std::string_view method, std::string_view target);

}  // namespace trailkeep
