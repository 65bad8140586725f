#include "server/store/expired_hosts.h"

#include <algorithm>

#include "common/base/glob.h"
#include "common/base/time_format.h"
#include "server/store/event_query.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

bool Reaches(const EventFilter& f, const std::string& host) {
  if (!f.host.empty() && !GlobMatch(f.host, host)) return false;
  return f.allowed_hosts.empty() ||
         std::any_of(f.allowed_hosts.begin(), f.allowed_hosts.end(),
                     [&](const std::string& p) { return GlobMatch(p, host); });
}

}  // namespace

Result<std::vector<ExpiredHost>> HostsCutAfterSince(const Store& store, const EventFilter& f) {
  std::vector<ExpiredHost> out;
  Status s = store.ListHosts([&](const v1::HostState& h) {
    if (h.retention_cut_us() == 0 || h.retention_cut_us() <= f.since_us) return;
    if (!Reaches(f, h.name())) return;
    out.push_back({h.name(), h.retention_cut_us(), h.oldest_kept_us()});
  });
  if (!s.ok()) return s;
  std::sort(out.begin(), out.end(),
            [](const ExpiredHost& a, const ExpiredHost& b) { return a.host < b.host; });
  return out;
}

std::string DescribeExpiredHosts(const std::vector<ExpiredHost>& hosts, size_t max_named) {
  std::string text;
  for (size_t i = 0; i < hosts.size() && i < max_named; ++i) {
    if (!text.empty()) text += ", ";
    text += hosts[i].host + " before " + FormatRfc3339Micros(hosts[i].cut_us);
  }
  if (hosts.size() > max_named) {
    text += ", and " + std::to_string(hosts.size() - max_named) + " more hosts";
  }
  return text;
}

}  // namespace trailkeep
