// SealStage: the last commit stage, which seals every event the committer
// stores (docs/formats/seal.md): each onto its host's seal chain under the
// key of the current period, agents', legacy, port-60, plain syslog and the
// collector's own alike, after every stage that drops or appends events.
//
// When the clock has entered a later period, the batch starts with a
// closing SEAL_TICK (the SelfAudit's tick request if the batch holds one,
// else one made here): every host's head, sealed with the old key; then the
// key steps forward and, once the batch is durable (Committed), the state
// file is rewritten in place with the new key, the old one overwritten. A
// tick request that closes nothing, and the collector's COLLECTOR_STOP, are
// sealed as a snapshot of the heads (so a cleanly stopped store ends with
// every head sealed). So
// heads, key and state only ever move with a stored batch.
//
// Open() reads the state file and the store's heads: the chain continues
// when the store holds the state's last tick, and a new chain starts
// otherwise (a store restored from a backup, or replaced); Opened says which,
// for the SEAL_CHAIN_START event RunServer records.
//
// Concurrency: not thread-safe; Open on the starting thread, then the
// committer thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/status.h"
#include "common/seal/seal_chains.h"
#include "common/seal/seal_state.h"
#include "server/store/committer.h"

namespace trailkeep {

class Store;

class SealStage final : public CommitStage {
 public:
  struct Opened {
    std::unique_ptr<SealStage> stage;
    bool first_start = false;             // the state's first sealed start: chain 1 begins
    bool new_chain = false;               // the store did not continue the state's chain
    std::string reason;                   // why a new chain, for the collector event
    std::vector<v1::SealHead> old_heads;  // the store's heads the new chain leaves
  };
  // NotFound when `state_path` does not exist (the collector runs unsealed).
  static Result<Opened> Open(Store* store, const std::string& state_path,
                             const std::string& collector_host, ClockPtr clock);

  void Prepare(std::vector<v1::Event>* events, CommitExtras* extras) override;
  void Committed() override;
  void Failed() override;

  uint32_t chain() const { return chains_.chain(); }
  const std::string& key_id() const { return state_.key_id; }
  const SealSchedule& schedule() const { return state_.schedule; }
  // The last state-file write that failed ("" when none): the old key may
  // still be on disk.
  const std::string& state_error() const { return state_error_; }

 private:
  SealStage(std::string state_path, std::string collector_host, ClockPtr clock, SealState state);
  static bool IsTickRequest(const v1::Event& e);
  v1::Event MakeTick(int64_t now_us) const;
  void FillTick(v1::Event* tick, uint64_t period) const;

  const std::string state_path_;
  const std::string collector_host_;
  const ClockPtr clock_;
  SealState state_;    // as on disk
  SealState pending_;  // what Committed() makes of it
  bool write_state_ = false;
  SealChains chains_;
  std::string state_error_;
};

}  // namespace trailkeep
