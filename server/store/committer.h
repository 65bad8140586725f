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
// A CommitStage (server/pipeline/: chain verifier, record deduper, audit
// grouping, tunnel state) may judge each batch on the committer thread just
// before it is stored, dropping events, appending derived ones (counted in
// CommitExtras::events_added) and adding what goes in the same WriteBatch.
// RunInOrder() queues work that must see every batch offered before it
// committed (the Resume answer of an agent connection); RunBetweenCommits()
// work that must not wait for them (disk rotation).
//
// Stop() commits what is queued; a batch the store keeps refusing (a full
// disk) is abandoned at the next retry, never acknowledged, so a store that
// cannot write does not hold the shutdown.
//
// Concurrency: Offer*/Stop/stats are thread-safe. Listeners run on the
// committer thread and must not block.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/base/status.h"
#include "server/store/store.h"

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

class CommitStage {
 public:
  virtual ~CommitStage() = default;
  // May drop events, append derived ones and fill *extras; its state
  // changes wait for Committed()
  // (the batch is durable) or Failed() (it was abandoned).
  virtual void Prepare(std::vector<v1::Event>* events, CommitExtras* extras) = 0;
  virtual void Committed() = 0;
  virtual void Failed() = 0;
};

struct CommitterOptions {
  size_t max_queue_bytes = 32u << 20;
  size_t max_batch_events = 4096;
};

// Upper bounds (microseconds) of the group-commit duration histogram
// (/metrics commit_duration_seconds): 1-2-5 steps from 100 us to 5 s, wide
// enough for a synced WAL on a slow disk; one more bucket counts the rest.
inline constexpr std::array<uint64_t, 16> kCommitDurationBoundsMicros = {
    100,    200,     500,     1'000,   2'000,     5'000,     10'000,    20'000,
    50'000, 100'000, 200'000, 500'000, 1'000'000, 2'000'000, 5'000'000, 10'000'000};

struct CommitterStats {
  uint64_t events_committed = 0;
  uint64_t commits = 0;
  uint64_t commit_failures = 0;
  uint64_t offers_refused = 0;
  uint64_t events_abandoned = 0;              // unacknowledged events not stored at shutdown
  uint64_t events_dropped_as_duplicates = 0;  // resent agent events already stored
  uint64_t heartbeats_consumed = 0;           // agent chain heads, judged and never stored
  size_t queued_bytes = 0;
  uint64_t commit_micros_total = 0;  // time in successful Store::Commit calls (WAL sync included)
  uint64_t last_commit_micros = 0;
  // Successful commits by duration: [i] counts those above bound i-1 and at
  // most bound i (not cumulative); the last entry counts those above every bound.
  std::array<uint64_t, kCommitDurationBoundsMicros.size() + 1> commit_duration_counts{};
};

class Committer {
 public:
  using Listener = std::function<void(const std::vector<v1::Event>&)>;
  using ExtrasListener = std::function<void(const CommitExtras&)>;
  using FailureHandler = std::function<void(const Status&)>;

  Committer(Store* store, CommitterOptions options);
  ~Committer();
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  // All must be set before Start().
  void AddListener(Listener listener);
  void AddExtrasListener(ExtrasListener listener);
  void SetFailureHandler(FailureHandler handler);
  void SetStage(CommitStage* stage) { stage_ = stage; }
  void Start();

  // Takes `events` when there is room (then *events is left empty) and
  // returns true; returns false and leaves *events untouched when full.
  bool Offer(std::vector<v1::Event>* events);
  // As Offer(); `on_durable` then runs on the committer thread once the
  // group commit holding these events is synced (never when the events are
  // abandoned at shutdown). Callers must not block in it.
  bool Offer(std::vector<v1::Event>* events, std::function<void()> on_durable);
  void OfferUnbounded(std::vector<v1::Event>* events);
  // Runs `fn` on the committer thread once everything queued before it is
  // committed. Dropped (never run) after Stop().
  void RunInOrder(std::function<void()> fn);
  // Runs `fn` on the committer thread ahead of everything queued, at the
  // next turn of the thread, also between the retries of a commit the
  // store refuses: work that frees what that commit waits for (the disk,
  // under disk_full_action = "rotate") must not queue behind it. Dropped
  // (never run) once Stop() was called.
  void RunBetweenCommits(std::function<void()> fn);
  // True once Stop() was called: long work on the committer thread gives up.
  bool stopping() const;
  // A hint for producers: false while the queue is full, so they can wait
  // without preparing a batch that Offer() would refuse.
  bool HasRoom() const;

  // Commits everything queued, then stops the thread. Idempotent.
  void Stop();
  CommitterStats stats() const;

 private:
  void Run();
  void Enqueue(std::vector<v1::Event>* events, size_t bytes,
               std::function<void()> on_durable = nullptr);
  // Commits `batch` (retrying while the store fails); false when abandoned.
  bool CommitBatch(std::vector<v1::Event>* batch, size_t taken_bytes);
  // Runs what RunBetweenCommits queued; false once stopping (then drops it).
  bool RunUrgent();

  Store* const store_;
  const CommitterOptions options_;
  std::vector<Listener> listeners_;
  std::vector<ExtrasListener> extras_listeners_;
  FailureHandler on_failure_;
  CommitStage* stage_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  struct Queued {
    std::vector<v1::Event> events;
    size_t bytes;                      // ApproxBytes(events), counted once at Offer
    std::function<void()> control;     // set for RunInOrder items
    std::function<void()> on_durable;  // Offer(events, on_durable)
  };
  std::deque<Queued> queue_;                  // GUARDED_BY(mu_)
  std::deque<std::function<void()>> urgent_;  // GUARDED_BY(mu_)
  size_t queued_bytes_ = 0;                   // GUARDED_BY(mu_)
  bool stopping_ = false;                     // GUARDED_BY(mu_)
  CommitterStats stats_;                      // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace trailkeep
