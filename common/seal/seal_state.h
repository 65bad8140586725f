// SealState: the collector's evolving sealing key and where its chain stands,
// in one private file outside the store (default DATA_DIR/seal.state), so a
// checkpoint or backup of the store never carries it.
//
// The file has a fixed size and is rewritten in place and fsynced at every
// key step, so the previous period's key is overwritten on disk, not left in
// a renamed-away copy (docs/formats/seal.md, 'The state file'). Layout (text):
//   trailkeep-seal-state 1
//   key_id <16 hex>        of K_0: which verification key checks this chain
//   t0_us, period_us       the schedule (20 digits each)
//   period <20 digits>     the period of `key`
//   key <64 hex>           K_period
//   chain <10 digits>      the seal chain being written
//   tick_seq <20 digits>   the collector host's seal seq of the last closing
//                          tick: a store whose head is below it was restored
#pragma once

#include <cstdint>
#include <string>

#include "common/base/status.h"
#include "common/seal/seal_key.h"

namespace trailkeep {

struct SealState {
  std::string key_id;
  SealSchedule schedule;
  uint64_t period = 0;
  std::string key;  // K_period
  uint32_t chain = 1;
  uint64_t tick_seq = 0;

  // The state at set-up: K_0 in period 0, chain 1.
  static SealState Initial(const VerificationKey& vk);
  // Steps the key to `period` (no-op when not later), erasing each old key.
  void StepTo(uint64_t period);
};

std::string FormatSealState(const SealState& state);
Result<SealState> ParseSealState(std::string_view text);
// NotFound when the file does not exist.
Result<SealState> ReadSealStateFile(const std::string& path);
// Rewrites the file in place (created 0600 when missing) and fsyncs it.
Status WriteSealStateFile(const std::string& path, const SealState& state);

}  // namespace trailkeep
