#include "server/pipeline/host_binding_stage.h"

#include <utility>

#include "common/base/endpoint.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

std::string SourceHostOf(std::string_view hostname, const v1::Peer& peer) {
  if (!hostname.empty()) return std::string(hostname);
  if (peer.authenticated() && peer.cert_dns_names_size() > 0) return peer.cert_dns_names(0);
  return AddressOfEndpoint(peer.address());
}

namespace {

HostVerdict Bound(std::string host) {
  HostVerdict v;
  v.host = std::move(host);
  return v;
}

}  // namespace

HostVerdict HostBindingStage::Bind(const HostClaim& claim) const {
  const v1::Peer& peer = claim.peer;
  if (claim.format == FrameFormat::kAuditRecord) {
    // The channel says who sent the records, not their text.
    return Bound(peer.bound_host().empty() ? AddressOfEndpoint(peer.address()) : peer.bound_host());
  }
  if (peer.transport() != v1::TRANSPORT_UNSPECIFIED) {
    // Plaintext: nothing authenticates the sender; its address decides.
    return Bound(plain_hosts_.HostOf(AddressOfEndpoint(peer.address()), claim.hostname));
  }
  if (peer.bound_host().empty()) {
    HostVerdict v = Bound(SourceHostOf(claim.hostname, peer));
    LegacyJudgement j = legacy_.Judge(peer, claim.listener, v.host);
    v.hostname_mismatch = j.mismatch;
    v.sender_identity = std::move(j.sender_identity);
    if (j.refused) v.dropped = std::move(j.reason);
    return v;
  }
  // Agents are always bound, whatever the listener's hostname_binding.
  if (claim.hostname == peer.bound_host()) return Bound(peer.bound_host());
  HostVerdict refused;
  refused.refused = "HOSTNAME \"" + std::string(claim.hostname) + "\" does not match the host \"" +
                    peer.bound_host() + "\" of the agent's certificate; connection refused";
  return refused;
}

}  // namespace trailkeep
