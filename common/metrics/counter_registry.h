// CounterRegistry: every counter and gauge of the collector, registered once
// by the component that owns it (at its construction), enumerated by
// GET /metrics. Nothing is assembled by hand at scrape time, so a component's
// counters cannot be left out of /metrics (port 60's once were).
//
// A registration is either fixed samples (name, help, type, labels, and a
// reader of the value, typically an atomic's load) or a family whose samples
// change with the world (one per source host, tunnel, integrity kind): a
// callback appending them at each scrape. Registrations are RAII handles:
// dropping one removes its samples, so a component that dies is never read.
//
// Thread-safety: every method may be called from any thread. Collect reads
// under the registry's lock, so a Registration's destructor waits for a
// scrape in progress; readers and families must not register or unregister
// (deadlock) and should be quick (families may read the store: scrape on a
// worker, not an I/O thread). The registry must outlive its registrations.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/metrics/metric.h"

namespace trailkeep {

class CounterRegistry {
 public:
  struct Counter {
    std::string name;  // without the trailkeep_ prefix
    std::string help;
    std::string type;  // "counter" or "gauge"
    std::function<double()> read;
    std::string labels;       // escaped (PrometheusLabel); "" = none
    std::string source_host;  // Metric::source_host; "" = fleet-wide
  };
  // Appends this scrape's samples; a failure fails the scrape (a 500).
  using Family = std::function<Status(std::vector<Metric>*)>;

  // Removes its samples when destroyed. Movable; empty when default-made.
  class Registration {
   public:
    Registration() = default;
    Registration(Registration&& other) noexcept;
    Registration& operator=(Registration&& other) noexcept;
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration();

   private:
    friend class CounterRegistry;
    Registration(CounterRegistry* registry, uint64_t id) : registry_(registry), id_(id) {}
    void Reset();
    CounterRegistry* registry_ = nullptr;
    uint64_t id_ = 0;
  };

  CounterRegistry() = default;
  CounterRegistry(const CounterRegistry&) = delete;
  CounterRegistry& operator=(const CounterRegistry&) = delete;

  // Fixed samples, and a family whose samples follow them (may be empty).
  [[nodiscard]] Registration Register(std::vector<Counter> counters, Family family = {});
  [[nodiscard]] Registration RegisterFamily(Family family) {
    return Register({}, std::move(family));
  }

  // Every sample now: registrations in the order they were made, then the
  // samples grouped so that each name's are adjacent (in the order the names
  // first appear). The first failing family's Status, if any.
  Result<std::vector<Metric>> Collect() const;

 private:
  struct Entry {
    std::vector<Counter> counters;
    Family family;
  };
  uint64_t Add(Entry entry);
  void Remove(uint64_t id);

  mutable std::mutex mu_;
  uint64_t next_id_ = 0;               // GUARDED_BY(mu_)
  std::map<uint64_t, Entry> entries_;  // GUARDED_BY(mu_); by id = registration order
};

// A counter or gauge read from an atomic the caller keeps alive as long as
// the registration (a member declared before the Registration member).
template <typename T>
CounterRegistry::Counter CounterOf(std::string name, std::string help, const std::atomic<T>& v) {
  return {std::move(name),
          std::move(help),
          "counter",
          [&v] { return static_cast<double>(v.load(std::memory_order_relaxed)); },
          "",
          ""};
}
template <typename T>
CounterRegistry::Counter GaugeOf(std::string name, std::string help, const std::atomic<T>& v) {
  return {std::move(name),
          std::move(help),
          "gauge",
          [&v] { return static_cast<double>(v.load(std::memory_order_relaxed)); },
          "",
          ""};
}

}  // namespace trailkeep
