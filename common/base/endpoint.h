// Text forms of network endpoints, as every record and event writes them.
#pragma once

#include <string>

namespace trailkeep {

// "ip:port", or "[v6]:port" for IPv6.
std::string FormatEndpoint(const std::string& ip, bool v6, unsigned short port);
// The address part of "ip:port" / "[v6]:port" ("" stays "").
std::string AddressOfEndpoint(const std::string& endpoint);

}  // namespace trailkeep
