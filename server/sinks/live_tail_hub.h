// LiveTailHub: fans committed events out to GET /v1/tail subscribers
// (docs/api.md, "GET /v1/tail").
//
// The hub is registered as a Committer listener: Publish() runs on the
// committer thread with each committed batch and must never block, so it
// only filters, appends to each subscriber's bounded queue and fires the
// subscriber's wake-up callback (which posts to the session's strand). The
// batch is copied once and shared by every subscriber that wants an event.
//
// A subscriber that cannot keep up is never allowed to slow ingest: when its
// queue would exceed max_events or max_bytes, the queue is dropped, the
// subscriber is marked overflowed with the number of matching events it lost,
// and it receives no more events. The session then tells the client
// {"missed": N, "resume_cursor": "C"} and ends the response; the client
// resumes with cursor=C from the store.
//
// Thread-safety: every method is thread-safe. Wake-up callbacks run on the
// committer thread with no lock held.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "server/store/event_query.h"

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

struct TailQueueLimits {
  size_t max_events = 10000;
  size_t max_bytes = 8u << 20;
};

class TailSubscriber {
 public:
  TailSubscriber(EventFilter filter, TailQueueLimits limits, std::function<void()> wake);

  struct Taken {
    std::vector<std::shared_ptr<const v1::Event>> events;  // matching, in ingest order
    uint64_t seen_seq = 0;    // highest committed seq published to this subscriber so far
    bool overflowed = false;  // the queue was dropped; no more events will come
    uint64_t missed = 0;      // matching events dropped
  };
  // Takes everything queued (the wake-up fires again on the next publish).
  Taken Take();

 private:
  friend class LiveTailHub;
  // Returns true when the subscriber should be woken.
  bool Offer(const std::shared_ptr<const std::vector<v1::Event>>& batch);

  const EventFilter filter_;
  const TailQueueLimits limits_;
  const std::function<void()> wake_;
  std::mutex mu_;
  std::vector<std::shared_ptr<const v1::Event>> queue_;  // GUARDED_BY(mu_)
  size_t queued_bytes_ = 0;                              // GUARDED_BY(mu_)
  uint64_t seen_seq_ = 0;                                // GUARDED_BY(mu_)
  bool overflowed_ = false;                              // GUARDED_BY(mu_)
  uint64_t missed_ = 0;                                  // GUARDED_BY(mu_)
  bool wake_pending_ = false;                            // GUARDED_BY(mu_)
};

class LiveTailHub {
 public:
  explicit LiveTailHub(TailQueueLimits limits = {}) : limits_(limits) {}

  // Registers a subscriber; events committed after this returns are queued
  // for it. `wake` is called (from the committer thread, must not block)
  // when the queue goes from empty to non-empty or the subscriber overflows.
  std::shared_ptr<TailSubscriber> Subscribe(EventFilter filter, std::function<void()> wake);
  void Unsubscribe(const std::shared_ptr<TailSubscriber>& subscriber);

  // The Committer listener.
  void Publish(const std::vector<v1::Event>& committed);

  size_t subscribers() const;
  uint64_t overflows() const;

 private:
  const TailQueueLimits limits_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<TailSubscriber>> subscribers_;  // GUARDED_BY(mu_)
  uint64_t overflows_ = 0;                                    // GUARDED_BY(mu_)
};

}  // namespace trailkeep
