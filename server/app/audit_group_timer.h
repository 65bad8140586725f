// AuditGroupTimer: closes audit groups that saw no EOE for the grouping
// timeout (AuditGrouping::Expire, every `interval` on the io_context, by
// `clock`: the time the grouping stage gave the groups' members), and at
// shutdown stores every group still open as incomplete (Flush). The grouped
// events go in as the collector's own (CollectorEvents).
//
// Concurrency: Start/Stop on the io_context's threads or before it runs;
// Flush once the io_context has stopped.
#pragma once

#include <chrono>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/base/clock.h"

namespace trailkeep {

class AuditGrouping;
class CollectorEvents;

class AuditGroupTimer {
 public:
  // Both must outlive this.
  // `exec`: a strand shared with whoever calls Stop (see RunServer).
  AuditGroupTimer(const boost::asio::any_io_executor& exec, AuditGrouping* grouping,
                  CollectorEvents* out, ClockPtr clock = MakeSystemClock(),
                  std::chrono::milliseconds interval = std::chrono::milliseconds(500))
      : timer_(exec),
        grouping_(grouping),
        out_(out),
        clock_(std::move(clock)),
        interval_(interval) {}

  void Start();
  void Stop() { timer_.cancel(); }
  void Flush();

 private:
  boost::asio::steady_timer timer_;
  AuditGrouping* const grouping_;
  CollectorEvents* const out_;
  const ClockPtr clock_;
  const std::chrono::milliseconds interval_;
};

}  // namespace trailkeep
