// KeySchedule: which of a host's HMAC keys is in force at which chain
// position (docs/formats/hmac_chain.md, 'Key rotation'). Shared by the
// collector's ChainVerifier (online, persisted in HostState) and the offline
// ChainAuditor, so both judge a rotation the same way.
//
// The schedule is a list of switches (epoch, seq, key id), in chain order:
// the key of a switch is in force from its position up to the next switch.
// The first authenticated event of a host starts the list (kFirst). A new
// key takes over at an event that names it (the tkkey element) and is MAC'd
// under it, after the last switch, provided the key was never in force
// before (kSwitch): keys only move forward, so a stolen retired key can
// neither sign new events nor announce itself again. An event authenticated
// under a key superseded at or before its position is kRetired; under a key
// not (yet) in force there, kNotInForce. Before the first switch (events
// older than anything the schedule saw) the first key and keys never in force
// are accepted: that history is unknown.
//
// Pure code. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trailkeep {

struct KeySwitch {
  uint64_t epoch = 0;
  uint64_t seq = 0;
  std::string key_id;
};

enum class KeyVerdict { kInForce, kFirst, kSwitch, kRetired, kNotInForce };

// kInForce, kFirst and kSwitch: the event's MAC stands.
inline bool KeyAccepted(KeyVerdict v) {
  return v == KeyVerdict::kInForce || v == KeyVerdict::kFirst || v == KeyVerdict::kSwitch;
}

class KeySchedule {
 public:
  KeySchedule() = default;
  explicit KeySchedule(std::vector<KeySwitch> switches) : switches_(std::move(switches)) {}

  // The verdict for an event at (epoch, seq) authenticated under `key_id`;
  // `announces`: it carries the tkkey element naming that key.
  KeyVerdict Judge(uint64_t epoch, uint64_t seq, const std::string& key_id, bool announces) const;
  // Judge(), recording the switch of kFirst and kSwitch.
  KeyVerdict Apply(uint64_t epoch, uint64_t seq, const std::string& key_id, bool announces);

  // The switch in force at (epoch, seq); null before the first one.
  const KeySwitch* InForceAt(uint64_t epoch, uint64_t seq) const;
  const std::vector<KeySwitch>& switches() const { return switches_; }

  // Why a rejected verdict rejects, starting with its reason word:
  // "retired_key: MAC verifies under key 1a2b..., retired at epoch E seq S
  // (key 3c4d... in force)". "" for accepted verdicts.
  std::string Explain(KeyVerdict verdict, uint64_t epoch, uint64_t seq,
                      const std::string& key_id) const;

 private:
  const KeySwitch* Find(const std::string& key_id) const;
  std::vector<KeySwitch> switches_;
};

}  // namespace trailkeep
