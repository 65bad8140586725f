// AgentRegistry: the live agent connection of each host (only the newest
// connection of a host is live: docs/formats/agent_wire.md, 'Connection').
// Register() closes the older connection first; Find() gives the live link
// for acknowledgements.
//
// Concurrency: thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace trailkeep {

class AgentLink;

class AgentRegistry {
 public:
  // Makes `link` the host's live connection and closes the previous one.
  void Register(const std::string& host, std::shared_ptr<AgentLink> link);
  // Forgets `link` if it is still the host's live connection.
  void Unregister(const std::string& host, const AgentLink* link);
  std::shared_ptr<AgentLink> Find(const std::string& host) const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::weak_ptr<AgentLink>> links_;  // GUARDED_BY(mu_)
};

}  // namespace trailkeep
