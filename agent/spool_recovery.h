// Spool recovery: what Spool::Open() rebuilds from a spool directory
// (agent/spool.h states the guarantees; this is how they are kept).
//
//   1. The checkpoint is loaded (the newer valid slot of `state`); a corrupt
//      one is rebuilt from the segments.
//   2. Every segment is scanned and CRC-checked. A torn tail (an incomplete
//      or bad record at the end of the last segment) is truncated away, the
//      only write recovery makes; a corrupt record elsewhere is skipped.
//   3. Records after the checkpoint's head roll the head (seq, MAC from the
//      signed bytes, key id) and the inputs' positions forward.
//   4. When the newest records were deleted, the inputs whose records went
//      go back to their last surviving record, and the lost head is kept to
//      be announced.
//   5. Seqs never go back: the next seq follows the highest of the
//      checkpoint's, the records' and the seqs a segment's name claims.
// A directory with neither checkpoint nor segment is a new spool.
//
// Every warning goes to `warn`, in order, as one sentence naming the file.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agent/spool_layout.h"
#include "agent/spool_record_codec.h"
#include "common/base/status.h"

namespace trailkeep::agent {

struct RecoveredSpool {
  bool created = false;  // a new epoch (`new_epoch`) was started
  // The head (its MAC always kMacBytes long), acked seq and positions.
  SpoolCheckpoint head;
  std::vector<SpoolSegment> segments;  // sorted by first seq, sizes and last seqs known
  uint64_t total_bytes = 0;            // of the segments
  // The checkpoint's head when the records no longer reach it, else seq 0.
  uint64_t truncated_head_seq = 0;
  std::string truncated_head_mac;
};

using SpoolWarn = std::function<void(std::string)>;

// Recovers the spool in `dir`, which exists. `new_epoch` is the epoch of a
// spool started anew; `now_us` only the receive time of re-parsed records.
Result<RecoveredSpool> RecoverSpool(const std::string& dir, uint64_t new_epoch, int64_t now_us,
                                    const SpoolWarn& warn);

}  // namespace trailkeep::agent
