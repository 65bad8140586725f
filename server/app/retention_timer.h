// RetentionTimer: applies [store] retention (server/store/retention.h) once
// at start-up and then every RetentionPolicy::CheckIntervalUs(), by `clock`.
// The pass writes to the store, so the timer only queues it on the committer
// thread (Committer::RunInOrder), between two commits. Each host cut is
// recorded as a RETENTION_CUT self-audit event (host, cut time, events and
// ingest range removed, chain position at the cut), so a reader of the store
// can tell a policy cut from a missing range; a failed pass is a
// STORE_ERROR and is tried again at the next tick.
//
// Concurrency: Start/Stop on the io_context's threads or before it runs.
#pragma once

#include <chrono>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/base/clock.h"
#include "server/store/retention.h"

namespace trailkeep {

class Committer;
class SelfAudit;
class Store;

class RetentionTimer {
 public:
  // All must outlive this. `exec`: a strand shared with whoever calls Stop.
  RetentionTimer(const boost::asio::any_io_executor& exec, RetentionPolicy policy, Store* store,
                 Committer* committer, SelfAudit* audit, ClockPtr clock = MakeSystemClock())
      : timer_(exec),
        policy_(std::move(policy)),
        store_(store),
        committer_(committer),
        audit_(audit),
        clock_(std::move(clock)) {}

  void Start();  // a pass now, then one per interval
  void Stop() { timer_.cancel(); }

 private:
  void Queue();  // one pass, on the committer thread
  void Arm();

  boost::asio::steady_timer timer_;
  const RetentionPolicy policy_;
  Store* const store_;
  Committer* const committer_;
  SelfAudit* const audit_;
  const ClockPtr clock_;
};

// One RETENTION_CUT event and log line for `cut`; `retention` is the host's
// policy as written ("180d"). An early cut (cut.reason set) says so in its
// message and carries `reason`.
void RecordRetentionCut(const RetentionCut& cut, const std::string& retention, SelfAudit* audit);

}  // namespace trailkeep
