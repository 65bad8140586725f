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

// Numeric "ip:port" only: delivery is to the collector's own listener.
tcp::endpoint ParseDeliveryAddress(const std::string& tunnel, const std::string& address) {
  if (address.empty()) {
    throw std::invalid_argument("[[tunnel]] " + tunnel +
                                ": no forward_to and no [[listen.audit]] listener to deliver to");
  }
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

}  // namespace

std::string LoopbackForListener(const std::string& listen_address) {
  if (listen_address.rfind("0.0.0.0:", 0) == 0) return "127.0.0.1" + listen_address.substr(7);
  if (listen_address.rfind("[::]:", 0) == 0) return "[::1]" + listen_address.substr(4);
  return listen_address;
}

TunnelManager::TunnelManager(net::io_context& io, std::vector<TunnelConfig> tunnels,
                             const std::string& default_forward_to, AuditChannelRegistry* registry,
                             SelfAudit* audit) {
  for (auto& t : tunnels) {
    const tcp::endpoint target =
        ParseDeliveryAddress(t.name, t.forward_to.empty() ? default_forward_to : t.forward_to);
    spdlog::info("tunnel {}: {}@{}:{} forwards {} to {}:{}", t.name, t.user, t.host, t.port,
                 t.remote_bind, target.address().to_string(), target.port());
    tunnels_.push_back(std::make_shared<SshTunnel>(io, std::move(t), target, registry, audit));
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
