// Retention: how long the store keeps each host's events, and the pass that
// applies it (docs/configuration.md [store] retention; the mechanics are in
// docs/formats/record_store.md, 'Retention').
//
// A policy is a default duration and overrides by host glob, the first
// matching override winning. RunRetentionPass() cuts every host whose oldest
// kept event is older than its retention allows, then trims the time index
// to the oldest event any host keeps. It writes to the store, so it runs on
// the committer thread (Committer::RunInOrder) and between commits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "server/store/store.h"

namespace trailkeep {

struct RetentionPolicy {
  static constexpr int64_t kDay = 86'400'000'000;
  int64_t default_us = 180 * kDay;  // 0: keep forever
  // (host glob, retention in µs, 0 = forever), first match wins.
  std::vector<std::pair<std::string, int64_t>> overrides;

  int64_t ForHost(std::string_view host) const;
  // The pass's interval: a tenth of the shortest retention, between 1 s and
  // one hour, so a short test retention is applied promptly and a long one
  // costs one look at the hosts an hour.
  int64_t CheckIntervalUs() const;
};

// "180d", "12h", "30m", "45s", "2w", or "forever" (0). Nothing on a
// malformed or non-positive duration.
std::optional<int64_t> ParseRetention(std::string_view text);
// The same form back ("180d"), for messages.
std::string FormatRetention(int64_t us);

// Cuts what `policy` expires at `now_us`; returns the cuts that removed
// something, in host order.
Result<std::vector<RetentionCut>> RunRetentionPass(Store* store, const RetentionPolicy& policy,
                                                   int64_t now_us);

}  // namespace trailkeep
