// SealTicker: asks for a SEAL_TICK at the start of every seal period
// (docs/formats/seal.md, 'Ticks'), so a period is closed, its key erased and
// every host's head sealed even when nothing else arrives. The request is a
// self-audit event; SealStage (server/pipeline/seal_stage.h) fills in the
// heads and seals it with the closing period's key. (COLLECTOR_STOP carries
// the heads at shutdown: a cleanly stopped store ends with all of them.)
//
// Concurrency: Start/Stop on the strand shared with whoever calls Stop.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/base/clock.h"
#include "common/seal/seal_key.h"

namespace trailkeep {

class SelfAudit;

class SealTicker {
 public:
  SealTicker(const boost::asio::any_io_executor& exec, SealSchedule schedule, SelfAudit* audit,
             ClockPtr clock)
      : timer_(exec), schedule_(schedule), audit_(audit), clock_(std::move(clock)) {}

  void Start() { Arm(); }
  void Stop() { timer_.cancel(); }

 private:
  void TickNow(const char* why);  // one tick request now
  void Arm();

  boost::asio::steady_timer timer_;
  const SealSchedule schedule_;
  SelfAudit* const audit_;
  const ClockPtr clock_;
};

}  // namespace trailkeep
