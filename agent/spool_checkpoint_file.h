// The spool's checkpoint file `state` (agent/spool.h): two slots written in
// place, so that a batch's checkpoint costs one pwrite and no sync.
//
// Layout: 2 * slot bytes; slot i starts at i * slot bytes and holds one
// framed SpoolState (agent/spool_record_codec.h) followed by zeros, or
// anything else (then it is invalid). The valid slot with the higher
// generation is the checkpoint. A write goes to the slot that does not hold
// the newest one, so a torn write (power loss) spoils at most the slot being
// written, and the other still holds the checkpoint before. A `state` written
// before this layout is one frame: slot 0, generation 0.
//
// Ordering is the owner's: it writes a checkpoint only once the records it
// names are durable, so a checkpoint is never ahead of the segments.
// Write(..., false) leaves it in the page cache: it survives the agent's death
// (kill -9); a power loss can only take it back to an older generation, and
// recovery rolls forward from the records. Sync() makes it durable.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "agent/spool_record_codec.h"
#include "agent/unique_fd.h"
#include "common/base/status.h"

namespace trailkeep::agent {

class CheckpointFile {
 public:
  // Creates dir/state anew holding `checkpoint` in slot 0 (through
  // state.tmp: fsync, rename, directory fsync) and opens it for writes.
  static Result<CheckpointFile> Create(const std::string& dir, const SpoolCheckpoint& checkpoint);

  // Writes `checkpoint`, whose generation must be above every earlier one's,
  // into the other slot; `sync`: fdatasync()s it too. One larger than a slot
  // re-creates the file with larger slots (synced). On error the slot written
  // to may be spoiled; the other one still holds the last checkpoint.
  Status Write(const SpoolCheckpoint& checkpoint, bool sync);
  // fdatasync() when a write is not durable yet.
  Status Sync();
  bool unsynced() const { return unsynced_; }
  size_t slot_bytes() const { return slot_bytes_; }

 private:
  CheckpointFile(std::string dir, UniqueFd fd, size_t slot_bytes)
      : dir_(std::move(dir)), fd_(std::move(fd)), slot_bytes_(slot_bytes) {}

  std::string dir_;
  UniqueFd fd_;
  size_t slot_bytes_ = 0;
  size_t next_slot_ = 1;  // the one not holding the newest checkpoint
  bool unsynced_ = false;
};

// The slot size for a checkpoint frame of `frame_bytes`: a power of two, at
// least 4 KiB and twice the frame (room for the positions to grow).
size_t CheckpointSlotBytes(size_t frame_bytes);

// The file's bytes: `checkpoint` framed in slot 0, zeros up to 2 * slot_bytes.
std::string EncodeCheckpointFile(const SpoolCheckpoint& checkpoint, size_t slot_bytes);

// The checkpoint a `state` file's bytes hold: the valid slot with the higher
// generation; nullopt when neither slot is valid. Pure.
std::optional<SpoolCheckpoint> DecodeCheckpointFile(std::string_view data);

}  // namespace trailkeep::agent
