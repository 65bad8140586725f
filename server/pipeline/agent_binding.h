// AgentBinding: the collector's AgentBinder (server/net/ingest.h). An agent
// connection (trailkeep/1) is bound to the host its verified certificate
// names (a host_map entry for one of its names, else its first DNS name,
// else its CN); through a tunnel, only the tunnel's node. A refusal (no
// certificate, no name, the wrong node) is reported as an agent refusal. A
// bound connection is registered (a newer one of the host closes it,
// agent_registry.h) and its Resume requested.
//
// Concurrency: thread-safe (AgentRegistry is; request_resume must be).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/net/ingest.h"

namespace trailkeep {

class AgentRegistry;

struct AgentBindingOptions {
  AgentRegistry* registry = nullptr;                          // null: none registered
  std::vector<std::pair<std::string, std::string>> host_map;  // identity -> host
  // Queues the Resume answer for a newly bound connection (after the frames
  // already offered).
  std::function<void(const std::string& host, std::weak_ptr<AgentLink>)> request_resume;
};

class AgentBinding final : public AgentBinder {
 public:
  // The registry and `reports` must outlive this.
  AgentBinding(AgentBindingOptions options, ConnectionReporter* reports)
      : options_(std::move(options)), reports_(reports) {}

  std::string BindAgent(const v1::Peer& peer, std::shared_ptr<AgentLink> link,
                        std::string* why) override;
  void UnbindAgent(const std::string& host, const AgentLink* link) override;

 private:
  const AgentBindingOptions options_;
  ConnectionReporter* const reports_;
};

// The host an agent's certificate names: a host_map entry for one of its DNS
// names or its CN, else its first DNS name, else its CN; "" when none.
std::string AgentHostOf(const v1::Peer& peer,
                        const std::vector<std::pair<std::string, std::string>>& host_map);

}  // namespace trailkeep
