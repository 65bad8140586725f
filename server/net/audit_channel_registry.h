// AuditChannelRegistry: who is behind a loopback connection to the port-60
// listener that the collector opened itself.
//
// A reverse SSH tunnel (server/tunnel/) serves each forwarded channel by
// bridging it to the collector's own [[listen.audit]] socket. Before it
// connects, the bridge binds its socket to 127.0.0.1:0, registers the local
// port with the node the tunnel leads to, and unregisters it when the bridge
// closes. The port-60 session looks up its peer's port (loopback peers only)
// and takes the sender's identity from the channel, not from the record text.
//
// Concurrency: every method is thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace trailkeep {

struct AuditChannel {
  std::string node;    // the node the tunnel leads to ([[tunnel]] name or host)
  std::string tunnel;  // "user@host:port" of the SSH session, for the Peer record
};

class AuditChannelRegistry {
 public:
  void Register(uint16_t local_port, AuditChannel channel);
  void Unregister(uint16_t local_port);
  std::optional<AuditChannel> Find(uint16_t local_port) const;

 private:
  mutable std::mutex mu_;
  std::map<uint16_t, AuditChannel> channels_;
};

}  // namespace trailkeep
