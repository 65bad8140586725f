#include "common/event/event_format.h"
#include "server/sinks/api_endpoints.h"
#include "server/sinks/api_session.h"
#include "server/store/store.h"

namespace trailkeep {

void ServeHosts(ApiSession& session) {
  session.AnswerFromReadPool(
      [server = session.server_ptr(), who = session.principal()]() -> Result<std::string> {
        std::string body = "[";
        bool first = true;
        Status s = server->store->ListHosts([&](const v1::HostState& h) {
          if (!who.MaySee(h.name())) return;
          if (!first) body += ",\n";
          first = false;
          body += HostStateToJson(h);
        });
        if (!s.ok()) return s;
        return body + "]\n";
      },
      {"application/json", /*no_store=*/false, "host list"});
}

}  // namespace trailkeep
