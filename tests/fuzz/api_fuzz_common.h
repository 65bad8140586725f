// The API's handling of one request target once Beast has parsed it, shared
// by export_request_fuzz and http_request_fuzz: the query string, then the
// parameters of the endpoint the path names, and the parsed filter applied
// to a sample event (host globs and text search run on every event a
// request reads).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/glob.h"
#include "server/report/report.h"
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

// `target` as the request line carries it: "/v1/events?cursor=1&host=a*".
inline void HandleTarget(std::string_view target) {
  const size_t qpos = target.find('?');
  const std::string path(target.substr(0, qpos));
  auto params = ParseQueryString(qpos == std::string_view::npos ? "" : target.substr(qpos + 1));
  if (!params.ok()) {
    FUZZ_CHECK(!params.status().message().empty());
    return;
  }
  const QueryParams& p = params.value();
  if (path == "/v1/events") {
    if (auto r = ParseEventsRequest(p, kNowUs, 1000, kMaxLimit); r.ok()) {
      FUZZ_CHECK(r.value().limit <= kMaxLimit);
      MatchSample(r.value().filter);
    }
  } else if (path == "/v1/tail") {
    if (auto r = ParseTailRequest(p, 1000); r.ok()) {
      FUZZ_CHECK(r.value().backlog <= 1000);
      MatchSample(r.value().filter);
    }
  } else if (path == "/v1/integrity") {
    if (auto r = ParseIntegrityRequest(p, kNowUs, 1000, kMaxLimit); r.ok()) {
      FUZZ_CHECK(r.value().limit <= kMaxLimit);
      (void)GlobMatch(r.value().host, "web-01.example.org");
    }
  } else if (path == "/v1/verify") {
    (void)ParseVerifyRequest(p);
  } else if (path.starts_with("/v1/report/")) {
    (void)ParseReportRequest(path.substr(11), p, kNowUs, kMaxLimit);
  }
}

}  // namespace trailkeep::fuzz
