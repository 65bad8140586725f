// LegacyHostRules: whether a legacy RFC 5425 sender (TLS syslog, not an
// agent) may file events under the host it claims, and what the collector
// does when it may not: the per-listener `hostname_binding` policy
// (docs/configuration.md, [[listen.syslog]]).
//
// A verified certificate speaks for a host when the host is
//   - one of its DNS names or its commonName (case-insensitive), or
//   - the host [agents.host_map] maps one of those names to (the agents'
//     mapping, for gear whose certificate names differ from its HOSTNAME), or
//   - matched by a pattern (common/base/glob.h) that [legacy_syslog.allowed_hosts]
//     lists for one of those names or for its fingerprint (relays).
// A sender without a certificate speaks for no host: it is always marked,
// with the identity "unauthenticated", and never refused for it (client_auth
// decides whether such senders are admitted at all).
//
// Policies: "flag" (default) stores the event under the claimed host with a
// hostname_mismatch mark and the sender's identity; "refuse" drops a
// certificate's event for a host it does not speak for; "off" checks nothing.
//
// Concurrency: immutable once made; Judge is safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trailkeep::v1 {
class Peer;
}

namespace trailkeep {

enum class HostnameBinding { kFlag, kRefuse, kOff };

// "flag", "refuse", "off"; false for anything else.
bool ParseHostnameBinding(std::string_view text, HostnameBinding* out);
const char* HostnameBindingName(HostnameBinding binding);

struct LegacyHostConfig {
  HostnameBinding binding = HostnameBinding::kFlag;  // listeners without their own
  // Bound listener address ("ip:port", Peer.listener) -> its policy.
  std::vector<std::pair<std::string, HostnameBinding>> listeners;
  // Certificate identity (DNS name, commonName or "sha-256:..." fingerprint)
  // -> the host patterns it may speak for.
  std::vector<std::pair<std::string, std::vector<std::string>>> allowed_hosts;
  // [agents.host_map]: certificate identity -> host name.
  std::vector<std::pair<std::string, std::string>> host_map;
};

struct LegacyJudgement {
  bool mismatch = false;        // the sender does not speak for the host
  bool refused = false;         // ... and the policy drops its event
  std::string sender_identity;  // set when mismatch
  std::string reason;           // set when refused
};

class LegacyHostRules {
 public:
  LegacyHostRules() = default;  // "flag" everywhere, no patterns, no mapping
  explicit LegacyHostRules(LegacyHostConfig config) : config_(std::move(config)) {}

  HostnameBinding PolicyOf(std::string_view listener) const;
  // Whether `peer`'s verified certificate speaks for `host` (see above).
  bool Speaks(const v1::Peer& peer, std::string_view host) const;
  // The verdict for an event of `peer`, on `listener`, filed under `host`.
  LegacyJudgement Judge(const v1::Peer& peer, std::string_view listener,
                        std::string_view host) const;

 private:
  LegacyHostConfig config_;
};

// Who the channel says the sender is: the certificate's commonName, else its
// first DNS name, else its subject; "unauthenticated" without a certificate.
std::string SenderIdentityOf(const v1::Peer& peer);

}  // namespace trailkeep
