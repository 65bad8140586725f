#include "server/store/retention.h"

#include <algorithm>
#include <charconv>

#include "common/base/glob.h"
#include "common/event/event_format.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr std::pair<char, int64_t> kUnits[] = {{'w', 7 * RetentionPolicy::kDay},
                                               {'d', RetentionPolicy::kDay},
                                               {'h', 3600 * kSecond},
                                               {'m', 60 * kSecond},
                                               {'s', kSecond}};

}  // namespace

int64_t RetentionPolicy::ForHost(std::string_view host) const {
  for (const auto& [glob, us] : overrides) {
    if (GlobMatch(glob, host)) return us;
  }
  return default_us;
}

int64_t RetentionPolicy::CheckIntervalUs() const {
  int64_t shortest = default_us;
  for (const auto& o : overrides) {
    if (o.second != 0 && (shortest == 0 || o.second < shortest)) shortest = o.second;
  }
  constexpr int64_t kHour = 3600 * kSecond;
  if (shortest == 0) return kHour;
  return std::clamp<int64_t>(shortest / 10, kSecond, kHour);
}

std::optional<int64_t> ParseRetention(std::string_view text) {
  if (text == "forever") return 0;
  if (text.size() < 2) return std::nullopt;
  int64_t n = 0;
  const char* end = text.data() + text.size() - 1;
  auto [ptr, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || ptr != end || n <= 0) return std::nullopt;
  for (const auto& [unit, us] : kUnits) {
    if (text.back() != unit) continue;
    if (n > INT64_MAX / us) return std::nullopt;
    return n * us;
  }
  return std::nullopt;
}

std::string FormatRetention(int64_t us) {
  if (us == 0) return "forever";
  for (const auto& [unit, size] : kUnits) {
    if (us % size == 0) return std::to_string(us / size) + unit;
  }
  return std::to_string(us) + "us";
}

Result<std::vector<RetentionCut>> RunRetentionPass(Store* store, const RetentionPolicy& policy,
                                                   int64_t now_us) {
  std::vector<std::pair<std::string, int64_t>> due;  // host, cut
  int64_t oldest_kept = 0;  // over every host that keeps an event, after the pass
  Status listed = store->ListHosts([&](const v1::HostState& h) {
    const int64_t oldest = OldestKeptUs(h);
    if (oldest == 0) return;  // keeps nothing
    const int64_t keep = policy.ForHost(h.name());
    if (keep != 0 && oldest < now_us - keep) {
      due.emplace_back(h.name(), now_us - keep);
    } else if (oldest_kept == 0 || oldest < oldest_kept) {
      oldest_kept = oldest;
    }
  });
  if (!listed.ok()) return listed;
  std::vector<RetentionCut> cuts;
  for (const auto& [host, cut_us] : due) {
    auto cut = store->ExpireHost(host, cut_us, "");
    if (!cut.ok()) return cut.status();
    const RetentionCut& c = cut.value();
    if (c.oldest_kept_us != 0 && (oldest_kept == 0 || c.oldest_kept_us < oldest_kept)) {
      oldest_kept = c.oldest_kept_us;
    }
    if (c.events != 0) cuts.push_back(c);
  }
  // With no host keeping anything the time index has nothing to serve
  // before now (the next commit's second is indexed as usual).
  if (!cuts.empty()) {
    Status s = store->ExpireTimeIndex(oldest_kept != 0 ? oldest_kept : now_us);
    if (!s.ok()) return s;
  }
  return cuts;
}

}  // namespace trailkeep
