// The tunnel part of HostState (docs/tunnels.md "State"), derived from the
// events being committed by TunnelStateStage (tunnel_state_stage.h), which
// hands the store the new states in the same WriteBatch; the stored events
// stay the one source of truth and the store tools (secondary instances) see
// what the collector sees:
//  - a collector event about a tunnel (TUNNEL_INITIATED, TUNNEL_TERMINATED,
//    TUNNEL_FAILED, SSH_SESSION_FAILED, carrying a `tunnel` parameter)
//    moves the TunnelState of HostState(<tunnel>);
//  - a port-60 record that came through a tunnel's channel (the channel bound
//    it to its host), or an agent's event whose TLS session came through the
//    tunnel (Peer.tunnel), counts in that host's events_received.
// Pure functions of their arguments: no I/O, no clock.
#pragma once

#include <string>

namespace trailkeep::v1 {
class Event;
class TunnelState;
}  // namespace trailkeep::v1

namespace trailkeep {

// The node whose tunnel state `e` changes ("" for any other event,
// including the summaries of rate-limited collector events).
std::string TunnelEventNode(const v1::Event& e);

// Applies a tunnel event (TunnelEventNode(e) != "") to its node's state.
void ApplyTunnelEvent(const v1::Event& e, v1::TunnelState* state);

// Whether `e` is a record received through a tunnel channel bound to its
// host (not the grouped event made of such records afterwards).
bool ReceivedThroughTunnel(const v1::Event& e);

}  // namespace trailkeep
