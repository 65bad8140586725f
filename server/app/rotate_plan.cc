#include "server/app/rotate_plan.h"

#include <algorithm>
#include <tuple>

namespace trailkeep {

RotatePlan PlanRotateCuts(const std::vector<HostBlockBytes>& hosts, uint64_t needed_bytes) {
  struct Candidate {
    int64_t receive_us;
    size_t host;
    size_t block;
  };
  // Every block but each host's newest, oldest first (ties in host order).
  std::vector<Candidate> order;
  for (size_t h = 0; h < hosts.size(); ++h) {
    const auto& blocks = hosts[h].blocks;
    for (size_t b = 0; b + 1 < blocks.size(); ++b) order.push_back({blocks[b].receive_us, h, b});
  }
  std::sort(order.begin(), order.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(a.receive_us, a.host, a.block) < std::tie(b.receive_us, b.host, b.block);
  });
  // taken[h]: how many of host h's oldest blocks go.
  std::vector<size_t> taken(hosts.size(), 0);
  RotatePlan plan;
  for (const Candidate& c : order) {
    if (plan.estimate_bytes >= needed_bytes) break;
    // A cut keeps what was received at or after its time: a block received
    // at the same microsecond as the next one of its host cannot go alone.
    // Take the host's blocks up to this one (they are older, so taken).
    size_t& n = taken[c.host];
    const auto& blocks = hosts[c.host].blocks;
    while (n <= c.block) plan.estimate_bytes += blocks[n++].bytes;
    while (n + 1 < blocks.size() && blocks[n].receive_us == blocks[n - 1].receive_us) {
      plan.estimate_bytes += blocks[n++].bytes;
    }
  }
  plan.covers = plan.estimate_bytes >= needed_bytes;
  for (size_t h = 0; h < hosts.size(); ++h) {
    if (taken[h] == 0) continue;
    const auto& blocks = hosts[h].blocks;
    // The first block kept (the newest always is) names the cut.
    plan.cuts.push_back({hosts[h].host, blocks[taken[h]].receive_us});
  }
  return plan;
}

}  // namespace trailkeep
