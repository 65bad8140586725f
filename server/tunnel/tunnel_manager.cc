#include "server/tunnel/tunnel_manager.h"

#include <stdexcept>

#include <boost/asio/ip/address.hpp>
#include <spdlog/spdlog.h>

#include "common/base/endpoint.h"
#include "server/tunnel/ssh_tunnel.h"

namespace trailkeep {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// Numeric "ip:port" only.
tcp::endpoint ParseRelayAddress(const std::string& tunnel, const std::string& address) {
  std::string host;
  unsigned short port = 0;
  SplitHostPort(LoopbackForListener(address), &host, &port);
  boost::system::error_code ec;
  const auto ip = net::ip::make_address(host, ec);
  if (ec || port == 0) {
    throw std::invalid_argument("[[tunnel]] " + tunnel + ": forward_to = \"" + address +
                                "\" must be a numeric ip:port");
  }
  return tcp::endpoint(ip, port);
}

ChannelDelivery DeliveryOf(const TunnelConfig& t, const std::vector<std::string>& audit_listeners,
                           const ServeChannel& serve) {
  ChannelDelivery d;
  // libssh2 does not tell the sender's own port: the address it connected
  // to on the node stands for it (127.0.0.1:60 by default).
  d.identity.address = t.remote_bind;
  d.identity.tunnel = t.name;
  for (const auto& l : audit_listeners) {
    if (t.forward_to.empty() || LoopbackForListener(t.forward_to) == LoopbackForListener(l)) {
      d.serve = serve;
      d.identity.listener = l;
      spdlog::info("tunnel {}: {}@{}:{} forwards {} to the port-60 listener {}", t.name, t.user,
                   t.host, t.port, t.remote_bind, l);
      return d;
    }
  }
  if (t.forward_to.empty()) {
    throw std::invalid_argument("[[tunnel]] " + t.name +
                                ": no forward_to and no [[listen.audit]] listener to deliver to");
  }
  d.relay_to = ParseRelayAddress(t.name, t.forward_to);
  spdlog::info("tunnel {}: {}@{}:{} forwards {} to {}:{}", t.name, t.user, t.host, t.port,
               t.remote_bind, d.relay_to.address().to_string(), d.relay_to.port());
  return d;
}

}  // namespace

std::string LoopbackForListener(const std::string& listen_address) {
  if (listen_address.rfind("0.0.0.0:", 0) == 0) return "127.0.0.1" + listen_address.substr(7);
  if (listen_address.rfind("[::]:", 0) == 0) return "[::1]" + listen_address.substr(4);
  return listen_address;
}

TunnelManager::TunnelManager(net::io_context& io, std::vector<TunnelConfig> tunnels,
                             const std::vector<std::string>& audit_listeners, ServeChannel serve,
                             SelfAudit* audit, ClockPtr clock) {
  for (auto& t : tunnels) {
    ChannelDelivery delivery = DeliveryOf(t, audit_listeners, serve);
    tunnels_.push_back(
        std::make_shared<SshTunnel>(io, std::move(t), std::move(delivery), audit, clock));
  }
}

TunnelManager::~TunnelManager() = default;

void TunnelManager::Start() {
  for (auto& t : tunnels_) t->Start();
}

void TunnelManager::Stop() {
  for (auto& t : tunnels_) t->Stop();
}

std::vector<TunnelStatus> TunnelManager::Status() const {
  std::vector<TunnelStatus> out;
  out.reserve(tunnels_.size());
  for (const auto& t : tunnels_) out.push_back(t->Status());
  return out;
}

}  // namespace trailkeep
