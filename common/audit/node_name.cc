#include "common/audit/node_name.h"

#include <algorithm>
#include <utility>

namespace trailkeep::audit {
namespace {

// "192.0.2.7" or an IPv6 literal: cutting it at a dot would make no name.
bool IsIpLiteral(std::string_view s) {
  if (s.find(':') != s.npos) return true;
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
}

}  // namespace

bool ParseNameFormat(std::string_view text, NameFormat* out) {
  static constexpr std::pair<std::string_view, NameFormat> kNames[] = {
      {"none", NameFormat::kNone},
      {"hostname", NameFormat::kHostname},
      {"fqd", NameFormat::kFqd},
      {"numeric", NameFormat::kNumeric},
      {"user", NameFormat::kUser}};
  for (const auto& [name, f] : kNames) {
    if (text == name) {
      *out = f;
      return true;
    }
  }
  return false;
}

std::string NodeName(const NodeNaming& naming, const NodeIdentity& who) {
  switch (naming.format) {
    case NameFormat::kNone:
      return "";
    case NameFormat::kHostname:
      if (who.name.empty()) return who.address;
      if (IsIpLiteral(who.name)) return who.name;
      return who.name.substr(0, who.name.find('.'));
    case NameFormat::kFqd:
      if (!who.fqdn.empty()) return who.fqdn;
      return who.name.empty() ? who.address : who.name;
    case NameFormat::kNumeric:
      return who.address;
    case NameFormat::kUser:
      return naming.user_name;
  }
  return "";
}

}  // namespace trailkeep::audit
