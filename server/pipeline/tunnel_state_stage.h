// TunnelStateStage: the commit stage that keeps HostState.tunnel of each
// [[tunnel]] node (docs/tunnels.md "State"). For each batch, just before it
// is stored, it applies the batch's tunnel events and counts the events
// received through a tunnel (tunnel_state.h), starting from the node's
// stored state, and hands the store each touched node's whole new
// TunnelState in CommitExtras::tunnel_states: the store writes it in the
// same WriteBatch and interprets no event itself.
//
// Register it after every stage that drops events (the chain verifier, the
// record deduper), so only what is stored counts.
//
// Concurrency: not thread-safe; the committer thread runs it.
#pragma once

#include <vector>

#include "server/store/committer.h"

namespace trailkeep {

class Store;

class TunnelStateStage final : public CommitStage {
 public:
  // `store` answers the nodes' stored states; it must outlive this.
  explicit TunnelStateStage(const Store* store) : store_(store) {}

  void Prepare(std::vector<v1::Event>* events, CommitExtras* extras) override;
  // The states handed over are read back from the store on the next batch:
  // nothing is staged here.
  void Committed() override {}
  void Failed() override {}

 private:
  const Store* store_;
};

}  // namespace trailkeep
