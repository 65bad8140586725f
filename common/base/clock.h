// Clock: where a component reads the time, so that tests can drive it.
//
// NowMicros() is wall time, microseconds since the Unix epoch (UTC): what is
// stored (receive times) and compared with stored times. SteadyNow() never
// goes backwards: for timeouts and windows measured inside the process, which
// a change of the system's wall clock must not stretch or cut short.
//
// Components take a ClockPtr, defaulting to MakeSystemClock(); there is no
// process-wide clock object. ManualClock moves only when a test moves it.
//
// Concurrency: every method of both clocks is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace trailkeep {

class Clock {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual int64_t NowMicros() const = 0;
  virtual SteadyTime SteadyNow() const = 0;
};

using ClockPtr = std::shared_ptr<const Clock>;

class SystemClock final : public Clock {
 public:
  int64_t NowMicros() const override;
  SteadyTime SteadyNow() const override { return std::chrono::steady_clock::now(); }
};

// A new SystemClock (stateless: any two are the same clock).
ClockPtr MakeSystemClock();

class ManualClock final : public Clock {
 public:
  // 2023-11-14T22:13:20Z: any fixed instant will do; the steady reading starts
  // at the steady clock's epoch and moves with the wall reading.
  static constexpr int64_t kDefaultStartMicros = 1'700'000'000'000'000;

  explicit ManualClock(int64_t now_us = kDefaultStartMicros) : wall_us_(now_us) {}

  int64_t NowMicros() const override { return wall_us_.load(); }
  SteadyTime SteadyNow() const override {
    return SteadyTime(std::chrono::microseconds(steady_us_.load()));
  }
  // Sets the wall reading only (as an administrator setting the date would).
  void Set(int64_t now_us) { wall_us_.store(now_us); }
  // Moves both readings forward by `d`.
  void Advance(std::chrono::microseconds d) {
    wall_us_ += d.count();
    steady_us_ += d.count();
  }

 private:
  std::atomic<int64_t> wall_us_;
  std::atomic<int64_t> steady_us_{0};
};

}  // namespace trailkeep
