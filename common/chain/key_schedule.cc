#include "common/chain/key_schedule.h"

#include <tuple>

namespace trailkeep {
namespace {

bool Before(uint64_t e1, uint64_t s1, uint64_t e2, uint64_t s2) {
  return std::tie(e1, s1) < std::tie(e2, s2);
}

std::string Position(uint64_t epoch, uint64_t seq) {
  return "epoch " + std::to_string(epoch) + " seq " + std::to_string(seq);
}

}  // namespace

const KeySwitch* KeySchedule::Find(const std::string& key_id) const {
  for (const auto& s : switches_) {
    if (s.key_id == key_id) return &s;
  }
  return nullptr;
}

const KeySwitch* KeySchedule::InForceAt(uint64_t epoch, uint64_t seq) const {
  const KeySwitch* found = nullptr;
  for (const auto& s : switches_) {
    if (Before(epoch, seq, s.epoch, s.seq)) break;
    found = &s;
  }
  return found;
}

KeyVerdict KeySchedule::Judge(uint64_t epoch, uint64_t seq, const std::string& key_id,
                              bool announces) const {
  if (switches_.empty()) return KeyVerdict::kFirst;
  const KeySwitch* in_force = InForceAt(epoch, seq);
  if (in_force != nullptr && in_force->key_id == key_id) return KeyVerdict::kInForce;
  const KeySwitch* known = Find(key_id);
  if (in_force == nullptr) {
    // Older than the schedule: the first key, or one never in force since.
    return known == nullptr || known == &switches_.front() ? KeyVerdict::kInForce
                                                           : KeyVerdict::kNotInForce;
  }
  const KeySwitch& last = switches_.back();
  if (announces && known == nullptr && Before(last.epoch, last.seq, epoch, seq)) {
    return KeyVerdict::kSwitch;
  }
  // Known and in force only before this position: superseded.
  if (known != nullptr && !Before(epoch, seq, known->epoch, known->seq)) {
    return KeyVerdict::kRetired;
  }
  return KeyVerdict::kNotInForce;
}

KeyVerdict KeySchedule::Apply(uint64_t epoch, uint64_t seq, const std::string& key_id,
                              bool announces) {
  const KeyVerdict v = Judge(epoch, seq, key_id, announces);
  if (v == KeyVerdict::kFirst || v == KeyVerdict::kSwitch) {
    switches_.push_back({epoch, seq, key_id});
  }
  return v;
}

std::string KeySchedule::Explain(KeyVerdict verdict, uint64_t epoch, uint64_t seq,
                                 const std::string& key_id) const {
  const KeySwitch* in_force = InForceAt(epoch, seq);
  const std::string now =
      in_force != nullptr ? " (key " + in_force->key_id + " is in force there)" : "";
  if (verdict == KeyVerdict::kRetired) {
    const KeySwitch* known = Find(key_id);
    const KeySwitch* next = nullptr;
    for (const auto& s : switches_) {
      if (known != nullptr && Before(known->epoch, known->seq, s.epoch, s.seq)) {
        next = &s;
        break;
      }
    }
    return "retired_key: MAC verifies under key " + key_id + ", retired at " +
           (next != nullptr ? Position(next->epoch, next->seq) : std::string("?")) + now;
  }
  if (verdict == KeyVerdict::kNotInForce) {
    return "key_not_in_force: MAC verifies under key " + key_id + ", not in force at " +
           Position(epoch, seq) + now;
  }
  return "";
}

}  // namespace trailkeep
