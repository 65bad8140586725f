#include "server/sinks/api_endpoints.h"
#include "server/sinks/api_session.h"
#include "server/sinks/integrity_listing.h"

namespace trailkeep {

void ServeIntegrity(ApiSession& session, const QueryParams& params) {
  const auto& options = session.server().options;
  auto parsed = ParseIntegrityRequest(params, options.clock->NowMicros(), options.default_limit,
                                      options.max_limit);
  if (!parsed.ok()) {
    return session.SendError(boost::beast::http::status::bad_request, parsed.status().message());
  }
  if (!parsed.value().host.empty() &&
      !session.principal().HostPatternAllowed(parsed.value().host)) {
    return session.DenyHost(parsed.value().host);
  }
  const IntegrityRequest req = std::move(parsed).value();
  session.AnswerFromReadPool(
      [server = session.server_ptr(), req,
       hosts = session.principal().hosts]() -> Result<std::string> {
        auto listing = ListIntegrity(*server->store, req, hosts);
        if (!listing.ok()) return listing.status();
        return IntegrityListingBody(listing.value(), req.ndjson);
      },
      {req.ndjson ? "application/x-ndjson" : "application/json", /*no_store=*/true,
       "integrity listing (" + req.filter_text + ")"});
}

}  // namespace trailkeep
