#include "server/store/event_query.h"

#include <algorithm>
#include <cctype>

#include "common/base/glob.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

// Receive times are not strictly monotonic across connections; a scan over
// ingest order stops this long after `until` (see docs/formats/record_store.md).

int64_t IndexSince(const EventFilter& f) {
  return f.since_us == INT64_MIN ? INT64_MIN / 2 : f.since_us;
}

// Everything in ingest order from the cursor (or from `since`).
Status ScanAll(const Store& store, const EventFilter& f, uint64_t after, uint64_t max_seq,
               const std::function<bool(const v1::Event&)>& fn) {
  if (f.since_us != INT64_MIN) {
    auto seq = store.SeqAtTime(f.since_us);
    if (!seq.ok()) return seq.status();
    after = std::max(after, seq.value() > 0 ? seq.value() - 1 : 0);
  }
  if (after >= max_seq) return Status::Ok();
  return store.ScanEvents(after, [&](const v1::Event& e) {
    if (e.ingest_seq() > max_seq) return false;
    if (f.until_us != INT64_MAX && e.receive_time_us() > f.until_us + kReceiveOrderSlackUs)
      return false;
    return !f.Matches(e) || fn(e);
  });
}

// Host filter: walk each matching host's blocks in by_host, merged by seq.
Status ScanHosts(const Store& store, const EventFilter& f, uint64_t after, uint64_t max_seq,
                 const std::function<bool(const v1::Event&)>& fn) {
  std::vector<uint64_t> ids;
  Status s = store.ListHosts([&](const v1::HostState& h) {
    if (GlobMatch(f.host, h.name())) ids.push_back(h.id());
  });
  if (!s.ok()) return s;
  std::vector<uint64_t> blocks;
  for (uint64_t id : ids) {
    s = store.ScanHostBlocks(id, IndexSince(f), f.until_us, [&](uint64_t seq) {
      if (seq <= max_seq) blocks.push_back(seq);
      return true;
    });
    if (!s.ok()) return s;
  }
  std::sort(blocks.begin(), blocks.end());
  // Blocks are disjoint runs of seqs, so only the last block starting at or
  // before the cursor can hold seqs after it.
  auto first = std::upper_bound(blocks.begin(), blocks.end(), after);
  if (first != blocks.begin()) --first;
  std::vector<v1::Event> events;
  for (auto it = first; it != blocks.end(); ++it) {
    events.clear();
    s = store.ReadBlock(*it, &events);
    if (!s.ok()) return s;
    for (const auto& e : events) {
      if (e.ingest_seq() <= after || e.ingest_seq() > max_seq) continue;
      if (f.Matches(e) && !fn(e)) return Status::Ok();
    }
  }
  return Status::Ok();
}

Status ScanRef(const Store& store, const EventFilter& f, uint64_t after, uint64_t max_seq,
               const std::function<bool(const v1::Event&)>& fn) {
  std::vector<uint64_t> seqs;
  Status s = store.ScanRef(f.ref, IndexSince(f), f.until_us, [&](uint64_t seq) {
    if (seq > after && seq <= max_seq) seqs.push_back(seq);
    return true;
  });
  if (!s.ok()) return s;
  std::sort(seqs.begin(), seqs.end());
  for (uint64_t seq : seqs) {
    bool stop = false;
    s = store.ScanEvents(seq - 1, [&](const v1::Event& e) {
      if (e.ingest_seq() == seq && f.Matches(e)) stop = !fn(e);
      return false;
    });
    if (!s.ok() || stop) return s;
  }
  return Status::Ok();
}

}  // namespace

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) {
                          return std::tolower(static_cast<unsigned char>(a)) ==
                                 std::tolower(static_cast<unsigned char>(b));
                        });
  return it != haystack.end();
}

bool EventFilter::Matches(const v1::Event& e) const {
  if (e.receive_time_us() < since_us || e.receive_time_us() > until_us) return false;
  if (!host.empty() && !GlobMatch(host, e.host())) return false;
  if (!ref.empty() &&
      std::find(e.ndcpp_refs().begin(), e.ndcpp_refs().end(), ref) == e.ndcpp_refs().end()) {
    return false;
  }
  if (!allowed_hosts.empty() &&
      std::none_of(allowed_hosts.begin(), allowed_hosts.end(),
                   [&](const std::string& p) { return GlobMatch(p, e.host()); })) {
    return false;
  }
  if (!text.empty() && !ContainsIgnoreCase(e.msg(), text)) return false;
  if (hostname_mismatch && e.hostname_mismatch() != *hostname_mismatch) return false;
  return true;
}

Status QueryEvents(const Store& store, const EventFilter& f, uint64_t after_seq, uint64_t max_seq,
                   const std::function<bool(const v1::Event&)>& fn) {
  if (after_seq >= max_seq) return Status::Ok();
  if (!f.ref.empty()) return ScanRef(store, f, after_seq, max_seq, fn);
  if (!f.host.empty()) return ScanHosts(store, f, after_seq, max_seq, fn);
  return ScanAll(store, f, after_seq, max_seq, fn);
}

}  // namespace trailkeep
