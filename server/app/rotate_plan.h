// Which early cuts `disk_full_action = "rotate"` makes to free `needed`
// bytes, decided from RocksDB's size estimates of each stored block
// (Store::ApproximateHostBytes), never from repeated free-space readings:
// those move by tens of MiB with RocksDB's own write-ahead log, flushes and
// compactions, and a cut decided from them cut far more than needed.
//
// Oldest first over every host: blocks are taken in receive-time order,
// whichever host holds them, until their estimates add up to `needed`; so
// no host loses an event newer than one another host keeps, and each
// host's newest block (its newest event) is never taken. Pure, so that it
// is tested without a disk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/store/store.h"

namespace trailkeep {

// One host's early cut: its blocks received before `cut_us` go.
struct RotateCut {
  std::string host;
  int64_t cut_us = 0;
};

struct RotatePlan {
  std::vector<RotateCut> cuts;  // at most one per host, in the order of `hosts`
  uint64_t estimate_bytes = 0;  // what the cuts free by the estimates
  // False when everything but each host's newest block does not cover
  // `needed`: the cuts then take all of it.
  bool covers = false;
};

// The smallest oldest-first cut whose estimate is at least `needed_bytes`:
// it frees at most the estimate of the last block taken beyond `needed`.
// `hosts` as Store::ApproximateHostBytes gives them (blocks oldest first).
// Blocks received at the same microsecond as the first block kept stay
// with it (a cut keeps what was received at or after its time).
RotatePlan PlanRotateCuts(const std::vector<HostBlockBytes>& hosts, uint64_t needed_bytes);

}  // namespace trailkeep
