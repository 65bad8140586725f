#include "server/store/committer.h"

#include <algorithm>
#include <chrono>
#include <iterator>

#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

size_t ApproxBytes(const std::vector<v1::Event>& events) {
  size_t n = 0;
  // A parsed Event costs about 1 KiB of heap beyond its two byte strings
  // (message object, peer, field strings); count it so the bound is real.
  for (const auto& e : events) n += e.raw().size() + e.msg().size() + 1024;
  return n;
}

}  // namespace

Committer::Committer(Store* store, CommitterOptions options) : store_(store), options_(options) {}

Committer::~Committer() { Stop(); }

void Committer::AddListener(Listener listener) { listeners_.push_back(std::move(listener)); }
void Committer::AddExtrasListener(ExtrasListener listener) {
  extras_listeners_.push_back(std::move(listener));
}
void Committer::SetFailureHandler(FailureHandler handler) { on_failure_ = std::move(handler); }

void Committer::Start() {
  thread_ = std::thread([this] { Run(); });
}

bool Committer::Offer(std::vector<v1::Event>* events) { return Offer(events, nullptr); }

bool Committer::Offer(std::vector<v1::Event>* events, std::function<void()> on_durable) {
  if (events->empty() && !on_durable) return true;
  const size_t bytes = ApproxBytes(*events);
  std::lock_guard<std::mutex> lock(mu_);
  // A single batch larger than the bound is still accepted into an empty
  // queue, or a large frame could never make progress.
  if (queued_bytes_ > 0 && queued_bytes_ + bytes > options_.max_queue_bytes) {
    ++stats_.offers_refused;
    return false;
  }
  if (stopping_) return false;
  Enqueue(events, bytes, std::move(on_durable));
  return true;
}

bool Committer::HasRoom() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_bytes_ < options_.max_queue_bytes;
}

void Committer::OfferUnbounded(std::vector<v1::Event>* events) {
  if (events->empty()) return;
  const size_t bytes = ApproxBytes(*events);
  std::lock_guard<std::mutex> lock(mu_);
  Enqueue(events, bytes);
}

void Committer::RunInOrder(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  queue_.push_back({{}, 0, std::move(fn), nullptr});
  wake_.notify_one();
}

void Committer::RunBetweenCommits(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  urgent_.push_back(std::move(fn));
  wake_.notify_one();
}

bool Committer::stopping() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

bool Committer::RunUrgent() {
  for (;;) {
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        urgent_.clear();
        return false;
      }
      if (urgent_.empty()) return true;
      fn = std::move(urgent_.front());
      urgent_.pop_front();
    }
    fn();
  }
}

void Committer::Enqueue(std::vector<v1::Event>* events, size_t bytes,
                        std::function<void()> on_durable) {
  queue_.push_back({std::move(*events), bytes, nullptr, std::move(on_durable)});
  events->clear();
  queued_bytes_ += bytes;
  wake_.notify_one();
}

void Committer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

CommitterStats Committer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  CommitterStats s = stats_;
  s.queued_bytes = queued_bytes_;
  return s;
}

void Committer::Run() {
  std::vector<v1::Event> batch;
  std::vector<std::function<void()>> on_durable;
  for (;;) {
    size_t taken_bytes = 0;
    std::function<void()> control;
    RunUrgent();
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty() || !urgent_.empty(); });
      if (!urgent_.empty() && !stopping_) continue;
      if (queue_.empty()) return;  // stopping and drained
      if (queue_.front().control) {
        control = std::move(queue_.front().control);
        queue_.pop_front();
      }
      while (!control && !queue_.empty() && !queue_.front().control &&
             batch.size() < options_.max_batch_events) {
        auto& front = queue_.front();
        taken_bytes += front.bytes;
        if (front.on_durable) on_durable.push_back(std::move(front.on_durable));
        if (batch.empty()) {
          batch = std::move(front.events);
        } else {
          std::move(front.events.begin(), front.events.end(), std::back_inserter(batch));
        }
        queue_.pop_front();
      }
    }
    if (control) {
      control();
      continue;
    }
    const bool durable = batch.empty() || CommitBatch(&batch, taken_bytes);
    batch.clear();
    if (durable) {
      for (auto& fn : on_durable) fn();
    }
    on_durable.clear();
  }
}

bool Committer::CommitBatch(std::vector<v1::Event>* batch, size_t taken_bytes) {
  CommitExtras extras;
  const size_t offered = batch->size();
  // Heartbeats are consumed by the stage, never stored; they are not
  // duplicates, so they are counted apart.
  const auto heartbeats = static_cast<size_t>(std::count_if(
      batch->begin(), batch->end(), [](const v1::Event& e) { return e.chain_heartbeat(); }));
  if (stage_ != nullptr) stage_->Prepare(batch, &extras);
  auto started = std::chrono::steady_clock::now();
  Status s = store_->Commit(batch, &extras);
  while (!s.ok()) {
    // Nothing of a failed batch is stored. Keep the events and retry: the
    // queue stays full, so producers stop reading and nothing is dropped.
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.commit_failures;
    }
    if (on_failure_) on_failure_(s);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        // Shutting down with a store that cannot write: these events were
        // never acknowledged to anyone; say how many are not stored.
        stats_.events_abandoned += batch->size();
        queued_bytes_ -= std::min(queued_bytes_, taken_bytes);
        if (stage_ != nullptr) stage_->Failed();
        return false;
      }
    }
    // Work that may free what the store lacks runs between the retries;
    // Stop() ends the wait at once.
    if (RunUrgent()) {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(500),
                     [this] { return stopping_ || !urgent_.empty(); });
    }
    started = std::chrono::steady_clock::now();
    s = store_->Commit(batch, &extras);
  }
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  if (stage_ != nullptr) stage_->Committed();
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued_bytes_ -= std::min(queued_bytes_, taken_bytes);
    stats_.events_committed += batch->size();
    stats_.heartbeats_consumed += heartbeats;
    stats_.events_dropped_as_duplicates +=
        offered + extras.events_added - heartbeats - batch->size();
    ++stats_.commits;
    stats_.commit_micros_total += static_cast<uint64_t>(took.count());
    stats_.last_commit_micros = static_cast<uint64_t>(took.count());
    const auto bucket =
        std::lower_bound(kCommitDurationBoundsMicros.begin(), kCommitDurationBoundsMicros.end(),
                         static_cast<uint64_t>(took.count()));
    ++stats_.commit_duration_counts[bucket - kCommitDurationBoundsMicros.begin()];
  }
  if (!batch->empty()) {
    for (const auto& l : listeners_) l(*batch);
  }
  for (const auto& l : extras_listeners_) l(extras);
  return true;
}

}  // namespace trailkeep
