#include "server/sinks/api_router.h"

#include <utility>

namespace trailkeep {
namespace {

constexpr std::string_view kReportPrefix = "/v1/report/";

struct Known {
  std::string_view path;
  ApiEndpoint endpoint;
  ApiScope scope;
  bool takes_parameters;
  std::string_view method = "GET";
};

constexpr Known kEndpoints[] = {
    {"/v1/events", ApiEndpoint::kEvents, kScopeExport, true},
    {"/v1/tail", ApiEndpoint::kTail, kScopeTail, true},
    {"/v1/hosts", ApiEndpoint::kHosts, kScopeAdmin, false},
    {"/metrics", ApiEndpoint::kMetrics, kScopeAdmin, false},
    {"/v1/integrity", ApiEndpoint::kIntegrity, kScopeAdmin, true},
    {"/v1/verify", ApiEndpoint::kVerify, kScopeAdmin, true},
    {"/v1/backup", ApiEndpoint::kBackup, kScopeAdmin, false, "POST"},
};

RoutedRequest Refuse(unsigned status, std::string message) {
  RoutedRequest out;
  out.refusal_status = status;
  out.refusal = std::move(message);
  return out;
}

}  // namespace

RoutedRequest RouteRequest(std::string_view method, std::string_view target) {
  if (method != "GET" && method != "POST") return Refuse(405, "only GET and POST are supported");
  const size_t qpos = target.find('?');
  RoutedRequest out;
  ApiRoute& route = out.route;
  route.path = std::string(target.substr(0, qpos));
  auto params = ParseQueryString(qpos == std::string_view::npos ? "" : target.substr(qpos + 1));
  if (!params.ok()) return Refuse(400, params.status().message());
  route.params = std::move(params).value();
  for (const Known& k : kEndpoints) {
    if (route.path != k.path) continue;
    if (method != k.method) {
      return Refuse(405, route.path + " takes " + std::string(k.method) + " only");
    }
    route.endpoint = k.endpoint;
    route.scope = k.scope;
    route.takes_parameters = k.takes_parameters;
    return out;
  }
  if (method != "GET") return Refuse(405, "only GET is supported here");
  if (route.path.starts_with(kReportPrefix)) {
    route.endpoint = ApiEndpoint::kReport;
    route.scope = kScopeAdmin;
    route.report_name = route.path.substr(kReportPrefix.size());
    return out;
  }
  return Refuse(404, "no such endpoint: " + route.path);
}

}  // namespace trailkeep
