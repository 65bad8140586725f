#include "server/pipeline/host_binding_stage.h"

#include "common/base/endpoint.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

std::string SourceHostOf(std::string_view hostname, const v1::Peer& peer) {
  if (!hostname.empty()) return std::string(hostname);
  if (peer.authenticated() && peer.cert_dns_names_size() > 0) return peer.cert_dns_names(0);
  return AddressOfEndpoint(peer.address());
}

HostVerdict HostBindingStage::Bind(const HostClaim& claim) const {
  const v1::Peer& peer = claim.peer;
  if (claim.format == FrameFormat::kAuditRecord) {
    // The channel says who sent the records, not their text.
    return {peer.bound_host().empty() ? AddressOfEndpoint(peer.address()) : peer.bound_host(), {}};
  }
  if (peer.bound_host().empty()) return {SourceHostOf(claim.hostname, peer), {}};
  if (claim.hostname == peer.bound_host()) return {peer.bound_host(), {}};
  return {{},
          "HOSTNAME \"" + std::string(claim.hostname) + "\" does not match the host \"" +
              peer.bound_host() + "\" of the agent's certificate; connection refused"};
}

}  // namespace trailkeep
