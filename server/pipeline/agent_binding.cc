#include "server/pipeline/agent_binding.h"

#include <utility>

#include "server/pipeline/agent_registry.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

std::string AgentHostOf(const v1::Peer& peer,
                        const std::vector<std::pair<std::string, std::string>>& host_map) {
  std::vector<std::string> ids(peer.cert_dns_names().begin(), peer.cert_dns_names().end());
  // Read from the parsed certificate at the handshake, never from the
  // subject's text, where "CN=" can sit inside another attribute's value.
  if (!peer.cert_common_name().empty()) ids.push_back(peer.cert_common_name());
  for (const auto& id : ids) {
    for (const auto& [identity, host] : host_map) {
      if (identity == id) return host;
    }
  }
  return ids.empty() ? "" : ids.front();
}

std::string AgentBinding::BindAgent(const v1::Peer& peer, std::shared_ptr<AgentLink> link,
                                    std::string* why) {
  std::string host;
  if (!peer.authenticated()) {
    *why = "trailkeep/1 requires a verified client certificate";
  } else if ((host = AgentHostOf(peer, options_.host_map)).empty()) {
    *why = "the agent's certificate names no host (no DNS name or CN)";
  } else if (!peer.tunnel().empty() && host != peer.tunnel()) {
    // Through a tunnel only the node it leads to may speak (docs/tunnels.md).
    *why = "the agent's certificate names host " + host + " but it came through the tunnel to " +
           peer.tunnel();
    host.clear();
  }
  if (host.empty()) {
    reports_->ReportConnectionEvent(ConnectionEventKind::kAgentRefused, peer, *why);
    return "";
  }
  if (options_.registry != nullptr) options_.registry->Register(host, link);
  if (options_.request_resume) options_.request_resume(host, link);
  return host;
}

void AgentBinding::UnbindAgent(const std::string& host, const AgentLink* link) {
  if (options_.registry != nullptr) options_.registry->Unregister(host, link);
}

}  // namespace trailkeep
