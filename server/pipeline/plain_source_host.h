// PlainSourceHosts: the host an event from a plaintext listener (UDP or TCP
// syslog, no certificate) is filed under. Such a sender proves nothing, and
// its HOSTNAME is only a claim, so the host comes from the channel:
//   1. a relay's address speaks for the hosts its patterns name
//      (common/base/glob.h): when the claimed HOSTNAME matches one of them,
//      the HOSTNAME is the host;
//   2. else the name the address mapping gives the sender (an exact address
//      or a CIDR range; the longest matching prefix wins);
//   3. else the sender's IP address.
// The claimed HOSTNAME is kept beside the host (Event.hostname) either way.
// IPv4-mapped IPv6 senders ("::ffff:192.0.2.1", a dual-stack socket) match
// IPv4 entries. Pure: no I/O, no DNS.
//
// Concurrency: immutable once made; HostOf is safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/status.h"

namespace trailkeep {

// What [plain_syslog] configures (docs/configuration.md).
struct PlainSourceConfig {
  // Address or CIDR ("192.0.2.7", "10.1.0.0/16", "2001:db8::/32") -> host name.
  std::vector<std::pair<std::string, std::string>> hosts;
  struct Relay {
    std::string address;                     // address or CIDR of the relay
    std::vector<std::string> host_patterns;  // HOSTNAMEs it may speak for
  };
  std::vector<Relay> relays;
};

class PlainSourceHosts {
 public:
  PlainSourceHosts() = default;  // no mapping, no relay: every host is its address
  // InvalidArgument naming the entry when an address or CIDR does not parse.
  static Result<PlainSourceHosts> Make(const PlainSourceConfig& config);

  // `sender_ip` is the IP address alone ("192.0.2.7", "2001:db8::1").
  std::string HostOf(std::string_view sender_ip, std::string_view claimed_hostname) const;

 private:
  struct Range {
    std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4
    bool v6 = false;
    int prefix = 0;  // bits
    bool Contains(const Range& ip) const;
  };
  std::vector<std::pair<Range, std::string>> hosts_;
  std::vector<std::pair<Range, std::vector<std::string>>> relays_;
};

}  // namespace trailkeep
