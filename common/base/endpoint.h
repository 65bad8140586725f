// Text forms of network endpoints, as every record and event writes them.
#pragma once

#include <string>
#include <string_view>

#include "common/base/status.h"

namespace trailkeep {

// "ip:port", or "[v6]:port" for IPv6.
std::string FormatEndpoint(const std::string& ip, bool v6, unsigned short port);
// The address part of "ip:port" / "[v6]:port" ("" stays "").
std::string AddressOfEndpoint(const std::string& endpoint);

// A listen or connect address as configured: "host:port" or "[v6]:port".
struct HostPort {
  std::string host;  // without the brackets of a v6 address
  unsigned short port = 0;
};
// Splits "host:port" / "[v6]:port": the host is not empty, the port is 1 to 5
// digits, 0..65535 (0 = any, for listeners). InvalidArgument names the address.
Result<HostPort> ParseHostPort(std::string_view address);
// ParseHostPort for start-up (configuration, binding listeners): throws
// std::runtime_error with its message.
void SplitHostPort(const std::string& address, std::string* host, unsigned short* port);

}  // namespace trailkeep
