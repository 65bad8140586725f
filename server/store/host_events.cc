#include "server/store/host_events.h"

#include <algorithm>
#include <climits>
#include <vector>

#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

Status ScanHostEvents(const Store& store, const std::string& host,
                      const std::function<bool(const v1::Event&)>& fn) {
  uint64_t host_id = 0;
  bool found = false;
  Status s = store.ListHosts([&](const v1::HostState& h) {
    if (h.name() == host) {
      host_id = h.id();
      found = true;
    }
  });
  if (!s.ok()) return s;
  if (!found) return Status::NotFound("no host '" + host + "' in the store");

  // Block start seqs in ingest order; blocks are disjoint runs of seqs.
  const uint64_t max_seq = store.LastSeq();
  std::vector<uint64_t> blocks;
  s = store.ScanHostBlocks(host_id, INT64_MIN / 2, INT64_MAX, [&](uint64_t seq) {
    if (seq <= max_seq) blocks.push_back(seq);
    return true;
  });
  if (!s.ok()) return s;
  std::sort(blocks.begin(), blocks.end());
  blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());

  std::vector<v1::Event> events;
  for (uint64_t first : blocks) {
    events.clear();
    s = store.ReadBlock(first, &events);
    if (!s.ok()) return s;
    for (const auto& e : events) {
      if (e.host() != host || e.ingest_seq() > max_seq) continue;
      if (!fn(e)) return Status::Ok();
    }
  }
  return Status::Ok();
}

}  // namespace trailkeep
