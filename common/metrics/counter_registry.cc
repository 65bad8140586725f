#include "common/metrics/counter_registry.h"

#include <unordered_map>
#include <utility>

namespace trailkeep {

CounterRegistry::Registration::Registration(Registration&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)), id_(std::exchange(other.id_, 0)) {}

CounterRegistry::Registration& CounterRegistry::Registration::operator=(
    Registration&& other) noexcept {
  if (this != &other) {
    Reset();
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

CounterRegistry::Registration::~Registration() { Reset(); }

void CounterRegistry::Registration::Reset() {
  if (registry_ != nullptr) registry_->Remove(id_);
  registry_ = nullptr;
  id_ = 0;
}

uint64_t CounterRegistry::Add(Entry entry) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t id = ++next_id_;
  entries_.emplace(id, std::move(entry));
  return id;
}

void CounterRegistry::Remove(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(id);
}

CounterRegistry::Registration CounterRegistry::Register(std::vector<Counter> counters,
                                                        Family family) {
  return Registration(this, Add({std::move(counters), std::move(family)}));
}

Result<std::vector<Metric>> CounterRegistry::Collect() const {
  std::vector<Metric> samples;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, entry] : entries_) {
      for (const Counter& c : entry.counters) {
        samples.emplace_back(c.name, c.help, c.type, c.read(), c.labels, c.source_host);
      }
      if (entry.family) {
        Status s = entry.family(&samples);
        if (!s.ok()) return s;
      }
    }
  }
  // Group by name (a stable sort on the rank of each name's first sample).
  std::unordered_map<std::string, size_t> rank;
  for (const Metric& m : samples) rank.emplace(m.name, rank.size());
  std::vector<std::vector<Metric>> groups(rank.size());
  for (Metric& m : samples) groups[rank.at(m.name)].push_back(std::move(m));
  std::vector<Metric> out;
  out.reserve(samples.size());
  for (auto& g : groups) {
    for (Metric& m : g) out.push_back(std::move(m));
  }
  return out;
}

}  // namespace trailkeep
