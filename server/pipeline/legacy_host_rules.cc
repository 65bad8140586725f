#include "server/pipeline/legacy_host_rules.h"

#include <algorithm>
#include <cctype>

#include "common/base/glob.h"
#include "server/pipeline/agent_binding.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Whether one of the names a certificate is known by (its DNS names and
// commonName, read from the parsed certificate at the handshake, never the
// subject's text) is `name`. Runs for every legacy event: no copies.
bool NamedAs(const v1::Peer& peer, std::string_view name) {
  if (!peer.cert_common_name().empty() && SameName(peer.cert_common_name(), name)) return true;
  return std::any_of(peer.cert_dns_names().begin(), peer.cert_dns_names().end(),
                     [&](const std::string& n) { return SameName(n, name); });
}

}  // namespace

bool ParseHostnameBinding(std::string_view text, HostnameBinding* out) {
  if (text == "flag") {
    *out = HostnameBinding::kFlag;
  } else if (text == "refuse") {
    *out = HostnameBinding::kRefuse;
  } else if (text == "off") {
    *out = HostnameBinding::kOff;
  } else {
    return false;
  }
  return true;
}

const char* HostnameBindingName(HostnameBinding binding) {
  switch (binding) {
    case HostnameBinding::kFlag:
      return "flag";
    case HostnameBinding::kRefuse:
      return "refuse";
    case HostnameBinding::kOff:
      return "off";
  }
  return "flag";
}

std::string SenderIdentityOf(const v1::Peer& peer) {
  if (!peer.authenticated()) return "unauthenticated";
  if (!peer.cert_common_name().empty()) return peer.cert_common_name();
  if (peer.cert_dns_names_size() > 0) return peer.cert_dns_names(0);
  return peer.cert_subject();
}

HostnameBinding LegacyHostRules::PolicyOf(std::string_view listener) const {
  for (const auto& [address, binding] : config_.listeners) {
    if (address == listener) return binding;
  }
  return config_.binding;
}

bool LegacyHostRules::Speaks(const v1::Peer& peer, std::string_view host) const {
  if (!peer.authenticated() || host.empty()) return false;
  if (NamedAs(peer, host)) return true;
  // Without a mapping AgentHostOf only returns one of the names just checked.
  if (!config_.host_map.empty()) {
    const std::string mapped = AgentHostOf(peer, config_.host_map);
    if (!mapped.empty() && SameName(mapped, host)) return true;
  }
  for (const auto& [identity, patterns] : config_.allowed_hosts) {
    if (identity != peer.cert_sha256() && !NamedAs(peer, identity)) continue;
    if (std::any_of(patterns.begin(), patterns.end(),
                    [&](const auto& p) { return GlobMatch(p, host); })) {
      return true;
    }
  }
  return false;
}

LegacyJudgement LegacyHostRules::Judge(const v1::Peer& peer, std::string_view listener,
                                       std::string_view host) const {
  LegacyJudgement j;
  const HostnameBinding policy = PolicyOf(listener);
  if (policy == HostnameBinding::kOff || Speaks(peer, host)) return j;
  j.mismatch = true;
  j.sender_identity = SenderIdentityOf(peer);
  // Without a certificate nothing was claimed falsely: marked, never refused.
  if (policy == HostnameBinding::kRefuse && peer.authenticated()) {
    j.refused = true;
    j.reason = "HOSTNAME \"" + std::string(host) + "\" is not a host the certificate of \"" +
               j.sender_identity +
               "\" may speak for (hostname_binding = \"refuse\"); event dropped";
  }
  return j;
}

}  // namespace trailkeep
