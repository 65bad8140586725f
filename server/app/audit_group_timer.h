// AuditGroupTimer: closes audit groups that saw no EOE for the grouping
// timeout (AuditGrouping::Expire, every 500 ms on the io_context), and at
// shutdown stores every group still open as incomplete (Flush). The grouped
// events go in as the collector's own (CollectorEvents).
//
// Concurrency: Start/Stop on the io_context's threads or before it runs;
// Flush once the io_context has stopped.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace trailkeep {

class AuditGrouping;
class CollectorEvents;

class AuditGroupTimer {
 public:
  // Both must outlive this.
  // `exec`: a strand shared with whoever calls Stop (see RunServer).
  AuditGroupTimer(const boost::asio::any_io_executor& exec, AuditGrouping* grouping,
                  CollectorEvents* out)
      : timer_(exec), grouping_(grouping), out_(out) {}

  void Start();
  void Stop() { timer_.cancel(); }
  void Flush();

 private:
  boost::asio::steady_timer timer_;
  AuditGrouping* const grouping_;
  CollectorEvents* const out_;
};

}  // namespace trailkeep
