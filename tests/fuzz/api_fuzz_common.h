// The API's handling of one request target once Beast has parsed it, shared
// by export_request_fuzz and http_request_fuzz: the server's router
// (RouteRequest: method, query string, path), then the parameters of the
// endpoint it names, and the parsed filter applied
// to a sample event (host globs and text search run on every event a
// request reads).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/glob.h"
#include "server/report/report.h"
#include "server/sinks/api_router.h"
#include "server/sinks/export_request.h"
#include "tests/fuzz/fuzz_check.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::fuzz {

inline constexpr int64_t kNowUs = 1795410000000000;
inline constexpr uint64_t kMaxLimit = 10000;

inline void MatchSample(const EventFilter& filter) {
  v1::Event event;
  event.set_host("web-01.example.org");
  event.set_msg("Accepted publickey for root from 192.0.2.7 port 50514 ssh2");
  event.set_receive_time_us(kNowUs);
  event.add_ndcpp_refs("FIA_UIA_EXT.1");
  (void)filter.Matches(event);
  (void)GlobMatch(filter.host, event.host());
}

// A routed request's endpoint parameters, as the endpoint parses them.
inline void HandleRoute(const ApiRoute& route) {
  const QueryParams& p = route.params;
  switch (route.endpoint) {
    case ApiEndpoint::kEvents:
      if (auto r = ParseEventsRequest(p, kNowUs, 1000, kMaxLimit); r.ok()) {
        FUZZ_CHECK(r.value().limit <= kMaxLimit);
        MatchSample(r.value().filter);
      }
      break;
    case ApiEndpoint::kTail:
      if (auto r = ParseTailRequest(p, 1000); r.ok()) {
        FUZZ_CHECK(r.value().backlog <= 1000);
        MatchSample(r.value().filter);
      }
      break;
    case ApiEndpoint::kIntegrity:
      if (auto r = ParseIntegrityRequest(p, kNowUs, 1000, kMaxLimit); r.ok()) {
        FUZZ_CHECK(r.value().limit <= kMaxLimit);
        (void)GlobMatch(r.value().host, "web-01.example.org");
      }
      break;
    case ApiEndpoint::kVerify:
      (void)ParseVerifyRequest(p);
      break;
    case ApiEndpoint::kReport:
      (void)ParseReportRequest(route.report_name, p, kNowUs, kMaxLimit);
      break;
    case ApiEndpoint::kHosts:
    case ApiEndpoint::kMetrics:
      FUZZ_CHECK(!route.takes_parameters);
      break;
  }
}

// `method` and `target` as the request line carries them ("GET",
// "/v1/events?cursor=1&host=a*"), through the server's own router.
inline void HandleRequest(std::string_view method, std::string_view target) {
  const RoutedRequest routed = RouteRequest(method, target);
  if (!routed.ok()) {
    FUZZ_CHECK(routed.refusal_status == 400 || routed.refusal_status == 404 ||
               routed.refusal_status == 405);
    FUZZ_CHECK(!routed.refusal.empty());
    return;
  }
  FUZZ_CHECK(!target.empty() && target.starts_with(routed.route.path));
  HandleRoute(routed.route);
}

inline void HandleTarget(std::string_view target) { HandleRequest("GET", target); }

}  // namespace trailkeep::fuzz
