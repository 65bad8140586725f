// Counters one tunnel shares with its channels. Shared ownership: a
// channel's session (or a relay's last socket handler) may outlive its tunnel.
// Concurrency: written on the tunnel's strand, read by any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace trailkeep {

struct TunnelCounters {
  std::atomic<uint64_t> channels_open{0};
  std::atomic<uint64_t> channels_total{0};
  std::atomic<uint64_t> channels_failed{0};  // a relay could not reach forward_to
  std::atomic<uint64_t> bytes_from_node{0};  // channel -> session (or relay)
  std::atomic<uint64_t> bytes_to_node{0};    // session (or relay) -> channel (acks)
};

}  // namespace trailkeep
