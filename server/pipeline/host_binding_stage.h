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
// - A legacy syslog sender: the HOSTNAME it claims; when the message has
//   none, the verified certificate's first DNS name, else the peer's address.
//
// The inputs are explicit (HostClaim: channel, listener, claimed HOSTNAME) so
// that a per-listener policy for legacy senders can be decided here.
//
// Pure: no state, no I/O; the caller acts on a refusal. Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "server/net/ingest.h"

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
};

class HostBindingStage {
 public:
  HostVerdict Bind(const HostClaim& claim) const;
};

// The host a legacy sender's event is filed under (see above).
std::string SourceHostOf(std::string_view hostname, const v1::Peer& peer);

}  // namespace trailkeep
