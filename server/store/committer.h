// Committer: the one thread that writes to the Store.
//
// Producers (I/O threads) Offer() batches of parsed events; the committer
// thread takes everything queued at each wake-up (up to max_batch_events),
// commits it as one group commit with the WAL synced, and then runs the
// post-commit listeners with the committed events. It never waits for a batch
// to fill: under load, batches grow because events queue during each fsync.
//
// Back-pressure: the queue is bounded in bytes. Offer() refuses a batch when
// the queue is full and the producer stops reading its socket and retries;
// nothing is dropped. OfferUnbounded() is for the collector's own rate-limited
// events, which must not be lost to a flood of peer data.
//
// Listeners receive each committed batch in ingest_seq order (the order in
// which Store::Commit hands the events back).
//
// Concurrency: Offer*/Stop/stats are thread-safe. Listeners run on the
// committer thread and must not block.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/base/status.h"

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

class Store;

struct CommitterOptions {
  size_t max_queue_bytes = 32u << 20;
  size_t max_batch_events = 16384;
};

struct CommitterStats {
  uint64_t events_committed = 0;
  uint64_t commits = 0;
  uint64_t commit_failures = 0;
  uint64_t offers_refused = 0;
  uint64_t events_abandoned = 0;  // unacknowledged events not stored at shutdown
  size_t queued_bytes = 0;
};

class Committer {
 public:
  using Listener = std::function<void(const std::vector<v1::Event>&)>;
  using FailureHandler = std::function<void(const Status&)>;

  Committer(Store* store, CommitterOptions options);
  ~Committer();
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  // Both must be set before Start().
  void AddListener(Listener listener);
  void SetFailureHandler(FailureHandler handler);
  void Start();

  // Takes `events` when there is room (then *events is left empty) and
  // returns true; returns false and leaves *events untouched when full.
  bool Offer(std::vector<v1::Event>* events);
  void OfferUnbounded(std::vector<v1::Event>* events);
  // A hint for producers: false while the queue is full, so they can wait
  // without preparing a batch that Offer() would refuse.
  bool HasRoom() const;

  // Commits everything queued, then stops the thread. Idempotent.
  void Stop();
  CommitterStats stats() const;

 private:
  void Run();
  void Enqueue(std::vector<v1::Event>* events, size_t bytes);

  Store* const store_;
  const CommitterOptions options_;
  std::vector<Listener> listeners_;
  FailureHandler on_failure_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  struct Queued {
    std::vector<v1::Event> events;
    size_t bytes;  // ApproxBytes(events), counted once at Offer
  };
  std::deque<Queued> queue_;  // GUARDED_BY(mu_)
  size_t queued_bytes_ = 0;   // GUARDED_BY(mu_)
  bool stopping_ = false;     // GUARDED_BY(mu_)
  CommitterStats stats_;      // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace trailkeep
