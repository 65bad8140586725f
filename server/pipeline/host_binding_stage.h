// HostBindingStage, the second ingest stage: binds an event to the host it
// is filed under, from what its channel proves and what the message claims
// (docs/design.md, 'Source host').
//
// - A bound agent's channel (trailkeep/1: Peer.bound_host, the host its
//   certificate names): the host is the bound host, and a HOSTNAME that
//   differs (NIL included) refuses the connection: nothing more of it is
//   stored.
// - A port-60 channel: the channel's host, never a node= in the record: the
//   tunnel's node (Peer.bound_host), else the peer's address.
// - A plaintext (UDP/TCP) sender (Peer.transport set): the host the
//   address mapping and relays of plain_source_host.h decide.
// - A legacy TLS syslog sender: the HOSTNAME it claims; when the message has
//   none, the verified certificate's first DNS name, else the peer's address.
//   Whether its certificate speaks for that host is legacy_host_rules.h's
//   judgement under the listener's hostname_binding: a mismatch is marked
//   (hostname_mismatch, sender_identity) or, under "refuse", the event is
//   dropped while the connection goes on.
//
// This stage is the one place an event's host is bound. Configure it
// (SetPlainHosts, SetLegacyRules) before the first Bind.
//
// Pure: no state but its configuration, no I/O; the caller acts on a
// refusal or a drop. Bind is thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "server/net/ingest.h"
#include "server/pipeline/legacy_host_rules.h"
#include "server/pipeline/plain_source_host.h"

namespace trailkeep::v1 {
class Peer;
}

namespace trailkeep {

struct HostClaim {
  FrameFormat format;
  const v1::Peer& peer;       // the channel: address, certificate, bound host, tunnel
  std::string_view listener;  // the local address it came in on (Peer.listener)
  std::string_view hostname;  // what the message claims: its HOSTNAME, "" when NIL or none
};

struct HostVerdict {
  std::string host;     // the host to file the event under; "" when refused
  std::string refused;  // why the connection is refused; "" when bound
  // Why this event alone is dropped (hostname_binding = "refuse"); the
  // connection goes on. "" when kept.
  std::string dropped;
  bool hostname_mismatch = false;  // Event.hostname_mismatch
  std::string sender_identity;     // Event.sender_identity
};

class HostBindingStage {
 public:
  void SetPlainHosts(PlainSourceHosts hosts) { plain_hosts_ = std::move(hosts); }
  void SetLegacyRules(LegacyHostRules rules) { legacy_ = std::move(rules); }

  HostVerdict Bind(const HostClaim& claim) const;

 private:
  PlainSourceHosts plain_hosts_;
  LegacyHostRules legacy_;
};

// The host a legacy sender's event is filed under (see above).
std::string SourceHostOf(std::string_view hostname, const v1::Peer& peer);

}  // namespace trailkeep
