// SealVerifier: the third-party check of a sealed store (docs/formats/seal.md,
// 'Verification'). It is given the verification key and every stored event
// in ingest order, and needs nothing else from the collector: not its state
// file, not its host states, which an intruder could have edited.
//
// Per (host, chain) the seals must run 1, 2, 3... each MAC verifying under
// the key of its period with the previous MAC; periods never go back; an
// event cannot be sealed more than a grace (one period) after it was received.
// Sealed SEAL_TICK events name every host's head: a head not stored is a
// truncated tail or a missing host. A chain that starts above seq 1 must
// start where a sealed RETENTION_CUT of its host ends, and that cut must be
// older than the retention the last sealed COLLECTOR_START put in force (a
// cut whose `reason` marks it early, disk full, is listed, not a failure).
// Chains a SEAL_CHAIN_START names under another key are reported, unchecked.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/seal/seal_key.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

struct SealFinding {
  // edited | missing | out_of_order | unsealed | truncated | missing_host |
  // unjustified_cut | late_seal | period_back | other_key | early_cut
  std::string kind;
  std::string host;
  uint32_t chain = 0;
  uint64_t seal_seq = 0;      // first seal seq concerned (0: none)
  uint64_t seal_seq_end = 0;  // last, for ranges (0: one)
  uint64_t ingest_seq = 0;    // where in the store (0: not stored)
  std::string detail;
  bool failure = true;  // false: listed for the operator, not tampering
};

struct SealVerifyResult {
  std::vector<SealFinding> findings;
  uint64_t events = 0;
  uint64_t sealed = 0;
  uint64_t unsealed_before_seal = 0;  // events stored before the first sealed one
  uint64_t ticks = 0;
  uint64_t chains = 0;
  bool clean() const;
};

// "edited host=web01 chain=1 seal_seq=5 ingest_seq=17: ..."
std::string FormatSealFinding(const SealFinding& f);
std::string FormatSealSummary(const SealVerifyResult& r);

class SealVerifier {
 public:
  // grace_us < 0: one period.
  explicit SealVerifier(VerificationKey key, int64_t grace_us = -1);
  // Checks only the heads of hosts matching `host_glob` that ticks name: for
  // a part of a store (an export of some hosts), where the other hosts'
  // events are absent by choice, not removed. "" (the default): every host.
  void SetScope(std::string host_glob) { scope_ = std::move(host_glob); }
  // Each stored event, in ingest order.
  void Add(const v1::Event& event);
  SealVerifyResult Finish();

 private:
  using ChainKey = std::pair<std::string, uint32_t>;
  struct ChainState {
    uint64_t last_seq = 0;
    std::string last_mac;
    uint64_t last_period = 0;
    uint64_t last_ingest = 0;
    std::optional<v1::Event> unlinked_start;  // first stored event, seq > 1
  };
  struct Claim {  // a tick's head not yet seen stored
    std::string mac;
    uint64_t tick_ingest = 0;
  };
  struct Cut {
    uint64_t seal_seq = 0;
    std::string seal_mac;
    uint64_t ingest = 0;
  };
  struct Policy {
    int64_t default_us = -1;  // -1: no sealed COLLECTOR_START seen
    std::vector<std::pair<std::string, int64_t>> overrides;
    int64_t For(const std::string& host) const;
  };

  const std::string& KeyOf(uint64_t period);
  void Report(SealFinding f) { result_.findings.push_back(std::move(f)); }
  void CheckSealed(const v1::Event& e, bool* authentic);
  void NoteCollectorEvent(const v1::Event& e);
  void ClaimHeads(const v1::Event& tick);

  VerificationKey key_;
  int64_t grace_us_;
  std::map<uint64_t, std::string> keys_;  // period -> key, derived on demand
  std::map<ChainKey, ChainState> chains_;
  std::map<std::tuple<std::string, uint32_t, uint64_t>, Claim> claims_;
  std::map<ChainKey, std::vector<Cut>> cuts_;
  std::map<uint32_t, std::string> chain_keys_;  // chain -> key id (SEAL_CHAIN_START)
  Policy policy_;
  bool seen_sealed_ = false;
  std::string scope_;
  SealVerifyResult result_;
};

}  // namespace trailkeep
