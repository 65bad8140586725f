#include "server/sinks/live_tail_hub.h"

#include <algorithm>

#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

// A cheap estimate of an event's memory: its variable-size fields plus a
// fixed overhead for the rest of the message.
size_t EventBytes(const v1::Event& e) {
  return e.raw().size() + e.msg().size() + e.host().size() + e.description().size() + 512;
}

}  // namespace

TailSubscriber::TailSubscriber(EventFilter filter, TailQueueLimits limits,
                               std::function<void()> wake)
    : filter_(std::move(filter)), limits_(limits), wake_(std::move(wake)) {}

TailSubscriber::Taken TailSubscriber::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  Taken t;
  t.events.swap(queue_);
  queued_bytes_ = 0;
  t.seen_seq = seen_seq_;
  t.overflowed = overflowed_;
  t.missed = missed_;
  wake_pending_ = false;
  return t;
}

bool TailSubscriber::Offer(const std::shared_ptr<const std::vector<v1::Event>>& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (overflowed_) return false;
  for (const auto& e : *batch) {
    if (!filter_.Matches(e)) continue;
    const size_t bytes = EventBytes(e);
    if (queue_.size() + 1 > limits_.max_events || queued_bytes_ + bytes > limits_.max_bytes) {
      // Too slow: drop the queue rather than hold the committer back.
      overflowed_ = true;
      missed_ = queue_.size();
      for (const auto& rest : *batch) {
        if (rest.ingest_seq() >= e.ingest_seq() && filter_.Matches(rest)) ++missed_;
      }
      queue_.clear();
      queue_.shrink_to_fit();
      queued_bytes_ = 0;
      break;
    }
    queue_.emplace_back(batch, &e);  // aliasing: shares the batch, no copy
    queued_bytes_ += bytes;
  }
  // A commit groups events by host, so its last event need not hold its
  // highest seq: take the maximum.
  if (!overflowed_) {
    for (const auto& e : *batch) seen_seq_ = std::max(seen_seq_, e.ingest_seq());
  }
  if (wake_pending_) return false;
  if (!overflowed_ && queue_.empty()) return false;
  wake_pending_ = true;
  return true;
}

std::shared_ptr<TailSubscriber> LiveTailHub::Subscribe(EventFilter filter,
                                                       std::function<void()> wake) {
  auto sub = std::make_shared<TailSubscriber>(std::move(filter), limits_, std::move(wake));
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.push_back(sub);
  return sub;
}

void LiveTailHub::Unsubscribe(const std::shared_ptr<TailSubscriber>& subscriber) {
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.erase(std::remove(subscribers_.begin(), subscribers_.end(), subscriber),
                     subscribers_.end());
}

void LiveTailHub::Publish(const std::vector<v1::Event>& committed) {
  std::vector<std::shared_ptr<TailSubscriber>> subs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (subscribers_.empty() || committed.empty()) return;
    subs = subscribers_;
  }
  // One copy per batch, shared by every subscriber (only when someone listens).
  auto batch = std::make_shared<const std::vector<v1::Event>>(committed);
  uint64_t overflowed = 0;
  for (const auto& s : subs) {
    const bool was_overflowed = [&] {
      std::lock_guard<std::mutex> lock(s->mu_);
      return s->overflowed_;
    }();
    if (s->Offer(batch)) {
      if (!was_overflowed && [&] {
            std::lock_guard<std::mutex> lock(s->mu_);
            return s->overflowed_;
          }()) {
        ++overflowed;
      }
      s->wake_();
    }
  }
  if (overflowed > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    overflows_ += overflowed;
    // Overflowed subscribers get nothing more; stop offering to them.
    subscribers_.erase(std::remove_if(subscribers_.begin(), subscribers_.end(),
                                      [](const std::shared_ptr<TailSubscriber>& s) {
                                        std::lock_guard<std::mutex> l(s->mu_);
                                        return s->overflowed_;
                                      }),
                       subscribers_.end());
  }
}

size_t LiveTailHub::subscribers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return subscribers_.size();
}

uint64_t LiveTailHub::overflows() const {
  std::lock_guard<std::mutex> lock(mu_);
  return overflows_;
}

}  // namespace trailkeep
