#include "server/report/report_format.h"
#include "server/sinks/api_endpoints.h"
#include "server/sinks/api_session.h"

namespace trailkeep {

// The same Report as `trailkeepd report`, built on the read pool.
void ServeReport(ApiSession& session, const std::string& name, const QueryParams& params) {
  using http_status = boost::beast::http::status;
  auto parsed = ParseReportRequest(name, params, session.server().options.clock->NowMicros(),
                                   session.server().options.max_limit);
  if (!parsed.ok()) {
    return session.SendError(parsed.status().code() == Status::Code::kNotFound
                                 ? http_status::not_found
                                 : http_status::bad_request,
                             parsed.status().message());
  }
  // As for /v1/events: a host= no allowed pattern covers is a 403, and every
  // row is filtered by the caller's patterns whatever the glob.
  auto& options = parsed.value().options;
  if (!options.host.empty() && !session.principal().HostPatternAllowed(options.host)) {
    return session.DenyHost(options.host);
  }
  options.allowed_hosts = session.principal().hosts;
  const ReportRequest req = std::move(parsed).value();
  session.AnswerFromReadPool(
      [server = session.server_ptr(), req]() -> Result<std::string> {
        auto report = BuildReport(*server->store, req.options);
        if (!report.ok()) return report.status();
        return req.json ? ReportToJson(report.value()) : ReportToText(report.value());
      },
      {req.json ? "application/json" : "text/plain; charset=utf-8", /*no_store=*/true,
       "report " + req.filter_text});
}

}  // namespace trailkeep
