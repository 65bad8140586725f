#include "common/base/endpoint.h"

#include <stdexcept>

namespace trailkeep {

std::string FormatEndpoint(const std::string& ip, bool v6, unsigned short port) {
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

std::string AddressOfEndpoint(const std::string& endpoint) {
  if (!endpoint.empty() && endpoint.front() == '[') {
    return endpoint.substr(1, endpoint.find(']') - 1);
  }
  return endpoint.substr(0, endpoint.rfind(':'));
}

Result<HostPort> ParseHostPort(std::string_view address) {
  const std::string quoted = "bad address '" + std::string(address) + "': ";
  std::string_view h, p;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return Status::InvalidArgument(quoted + "expected [v6]:port");
    }
    h = address.substr(1, close - 1);
    p = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument(quoted + "expected host:port");
    }
    h = address.substr(0, colon);
    p = address.substr(colon + 1);
  }
  bool digits = !p.empty() && p.size() <= 5;
  unsigned port = 0;
  for (size_t i = 0; digits && i < p.size(); ++i) {
    digits = p[i] >= '0' && p[i] <= '9';
    port = port * 10 + static_cast<unsigned>(p[i] - '0');
  }
  if (h.empty() || !digits || port > 65535) {
    return Status::InvalidArgument(quoted + "expected host:port, port 0..65535");
  }
  return HostPort{std::string(h), static_cast<unsigned short>(port)};
}

void SplitHostPort(const std::string& address, std::string* host, unsigned short* port) {
  Result<HostPort> r = ParseHostPort(address);
  if (!r.ok()) throw std::runtime_error(r.status().message());
  *host = std::move(r->host);
  *port = r->port;
}

}  // namespace trailkeep
