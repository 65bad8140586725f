#include "server/pipeline/plain_source_host.h"

#include <charconv>
#include <cstring>

#include <arpa/inet.h>

#include "common/base/glob.h"

namespace trailkeep {
namespace {

// An address (prefix: its full length) or "address/prefix"; false when
// neither parses.
template <typename Range>
bool ParseRange(std::string_view text, Range* out) {
  std::string_view addr = text;
  int prefix = -1;
  if (const size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    const std::string_view bits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
    if (ec != std::errc() || end != bits.data() + bits.size() || bits.empty()) return false;
  }
  std::string a(addr);
  // "::ffff:a.b.c.d" (a dual-stack socket's view of an IPv4 sender) is IPv4.
  if (a.rfind("::ffff:", 0) == 0 && a.find('.') != std::string::npos && prefix < 0) a.erase(0, 7);
  in6_addr v6{};
  if (inet_pton(AF_INET, a.c_str(), out->bytes.data()) == 1) {
    out->v6 = false;
    out->prefix = prefix < 0 ? 32 : prefix;
    return out->prefix <= 32;
  }
  if (inet_pton(AF_INET6, a.c_str(), &v6) == 1) {
    out->v6 = true;
    std::memcpy(out->bytes.data(), &v6, 16);
    out->prefix = prefix < 0 ? 128 : prefix;
    return out->prefix <= 128;
  }
  return false;
}

}  // namespace

bool PlainSourceHosts::Range::Contains(const Range& ip) const {
  if (ip.v6 != v6) return false;
  const int full = prefix / 8;
  if (std::memcmp(bytes.data(), ip.bytes.data(), static_cast<size_t>(full)) != 0) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (bytes[full] & mask) == (ip.bytes[full] & mask);
}

Result<PlainSourceHosts> PlainSourceHosts::Make(const PlainSourceConfig& config) {
  PlainSourceHosts out;
  for (const auto& [address, name] : config.hosts) {
    Range r;
    if (!ParseRange(address, &r)) {
      return Status::InvalidArgument("\"" + address +
                                     "\" is neither an IP address nor a CIDR range");
    }
    if (name.empty()) return Status::InvalidArgument("\"" + address + "\" maps to an empty name");
    out.hosts_.emplace_back(r, name);
  }
  for (const auto& relay : config.relays) {
    Range r;
    if (!ParseRange(relay.address, &r)) {
      return Status::InvalidArgument("relay address \"" + relay.address +
                                     "\" is neither an IP address nor a CIDR range");
    }
    if (relay.host_patterns.empty()) {
      return Status::InvalidArgument("relay " + relay.address + " names no host pattern");
    }
    out.relays_.emplace_back(r, relay.host_patterns);
  }
  return out;
}

std::string PlainSourceHosts::HostOf(std::string_view sender_ip,
                                     std::string_view claimed_hostname) const {
  Range ip;
  if (!ParseRange(sender_ip, &ip) || ip.prefix != (ip.v6 ? 128 : 32)) {
    return std::string(sender_ip);  // not an address (never from a socket): itself
  }
  if (!claimed_hostname.empty()) {
    for (const auto& [range, patterns] : relays_) {
      if (!range.Contains(ip)) continue;
      for (const auto& p : patterns) {
        if (GlobMatch(p, claimed_hostname)) return std::string(claimed_hostname);
      }
    }
  }
  const std::string* best = nullptr;
  int best_prefix = -1;
  for (const auto& [range, name] : hosts_) {
    if (range.prefix > best_prefix && range.Contains(ip)) {
      best = &name;
      best_prefix = range.prefix;
    }
  }
  if (best != nullptr) return *best;
  // The address as written from the socket, "::ffff:" removed.
  if (!ip.v6) {
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, ip.bytes.data(), text, sizeof text);
    return text;
  }
  return std::string(sender_ip);
}

}  // namespace trailkeep
