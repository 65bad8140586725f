#include "server/net/audit_channel_registry.h"

#include <utility>

namespace trailkeep {

void AuditChannelRegistry::Register(uint16_t local_port, AuditChannel channel) {
  std::lock_guard lock(mu_);
  channels_[local_port] = std::move(channel);
}

void AuditChannelRegistry::Unregister(uint16_t local_port) {
  std::lock_guard lock(mu_);
  channels_.erase(local_port);
}

std::optional<AuditChannel> AuditChannelRegistry::Find(uint16_t local_port) const {
  std::lock_guard lock(mu_);
  auto it = channels_.find(local_port);
  if (it == channels_.end()) return std::nullopt;
  return it->second;
}

}  // namespace trailkeep
