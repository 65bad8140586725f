#include "server/pipeline/agent_registry.h"

#include "server/net/ingest.h"

namespace trailkeep {

void AgentRegistry::Register(const std::string& host, std::shared_ptr<AgentLink> link) {
  std::shared_ptr<AgentLink> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = links_[host];
    old = slot.lock();
    slot = link;
  }
  // Outside the lock: Close() posts to the old session's strand.
  if (old && old != link) old->Close("replaced by a newer connection of this host");
}

void AgentRegistry::Unregister(const std::string& host, const AgentLink* link) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = links_.find(host);
  if (it == links_.end()) return;
  auto live = it->second.lock();
  if (!live || live.get() == link) links_.erase(it);
}

std::shared_ptr<AgentLink> AgentRegistry::Find(const std::string& host) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = links_.find(host);
  return it == links_.end() ? nullptr : it->second.lock();
}

size_t AgentRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return links_.size();
}

}  // namespace trailkeep
