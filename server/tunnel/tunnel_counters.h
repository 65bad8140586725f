// Counters one tunnel shares with its channel bridges. Shared ownership:
// a bridge's last socket handler may run after its tunnel let go of it.
// Concurrency: written on the tunnel's strand, read by any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace trailkeep {

struct TunnelCounters {
  std::atomic<uint64_t> channels_open{0};
  std::atomic<uint64_t> channels_total{0};
  std::atomic<uint64_t> channels_failed{0};  // bridge could not reach the port-60 listener
  std::atomic<uint64_t> bytes_from_node{0};  // channel -> port-60 listener
  std::atomic<uint64_t> bytes_to_node{0};    // port-60 listener -> channel (acks)
};

}  // namespace trailkeep
