#include "common/base/endpoint.h"

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

}  // namespace trailkeep
