// Spool: the agent's durable, append-only queue of signed events.
//
// Layout of spool_dir (agent/spool_layout.h):
//   seg-<first seq, 20 digits>.tks   segments, in seq order
//   state                             the checkpoint (agent/spool_checkpoint_file.h)
// A segment is a sequence of framed records (agent/spool_record_codec.h)
// holding the signed RFC 5424 bytes exactly as they are sent. `state` holds
// two slots, each one framed checkpoint: epoch, last seq, head MAC and its key
// id, acknowledged seq and each input's file positions (a journal input's:
// its cursor) as of the last appended record, and a generation; the newer
// valid slot counts. Each write goes to the other slot, in place.
//
// Durability: Append() writes a whole batch to the active segment and
// fdatasyncs it (the batch's one sync), then writes the checkpoint into its
// slot without a sync, before it returns; callers send nothing that Append()
// has not returned. The checkpoint is thus never ahead of durable records. It
// survives the agent's death (kill -9) as written; SyncCheckpoint() makes it
// survive a power loss (the owner calls it at most a second after a write),
// and Acknowledge() syncs it before deleting segments. A checkpoint older
// than the records (a crash or power loss before it was durable) is repaired
// at Open() by rolling forward over the records after its head.
//
// Recovery (Open, agent/spool_recovery.h): the checkpoint is loaded, every
// segment is scanned and CRC-checked, records after the checkpoint's head roll
// the head and the positions forward, and a torn tail (an incomplete or bad
// record at the end of the last segment) is truncated with a warning. A corrupt
// record in the middle is skipped (warning), never repaired. Sequence numbers
// are never reused: the next seq is max(checkpoint seq, last record seq, the
// first seq a non-empty segment is named by) + 1, also when the newest records
// were deleted behind the agent's back (loud warning; the collector notices
// from the heartbeat's head); the positions of the files whose newest records
// were deleted go back to their last surviving record, so those lines are read
// again and sent as new events. A directory with neither checkpoint nor
// segments is a new spool with a new epoch (creation time in ns since the Unix
// epoch, as the clock given to Open() reads it).
//
// Space: size_bytes() counts segment bytes; Full() says when the owner must
// stop reading its inputs (nothing is ever dropped). Acknowledge() deletes
// segments whose every record is acknowledged, but for the active one while
// it has room and segment_bytes is at most half of max_bytes (its bytes still
// count): it is deleted once full, or when an append to it fails (a full
// disk).
//
// Warnings are logged with spdlog and also kept in warnings() for tests.
// Not thread-safe: one owner thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/file_position.h"
#include "agent/spool_checkpoint_file.h"
#include "agent/spool_layout.h"
#include "agent/spool_record_codec.h"
#include "agent/unique_fd.h"
#include "common/base/clock.h"
#include "common/base/status.h"

namespace trailkeep::agent {

struct SpoolOptions {
  std::string dir;
  uint64_t max_bytes = uint64_t{1} << 30;
  uint64_t segment_bytes = uint64_t{16} << 20;
};

// One spooled event read back for sending.
struct SpooledMessage {
  uint64_t seq = 0;
  std::string message;
};

class Spool {
 public:
  // Opens or creates the spool in options.dir (created with mode 0700 if
  // missing). `clock`'s time (in ns) becomes the epoch of a new spool; it is
  // read during Open() only.
  static Result<std::unique_ptr<Spool>> Open(const SpoolOptions &options, const Clock &clock);
  ~Spool();

  bool created() const { return created_; }  // a new spool (new epoch) was made by Open()
  uint64_t epoch() const { return head_.epoch; }
  uint64_t last_seq() const { return head_.last_seq; }  // 0 before the first event
  uint64_t next_seq() const { return head_.last_seq + 1; }
  const std::string &head_mac() const { return head_.head_mac; }  // 32 zero bytes before the first
  // KeyId of the key the head is signed with ("" before the first event and
  // in spools older than key rotation).
  const std::string &head_key_id() const { return head_.key_id; }
  uint64_t acked_seq() const { return head_.acked_seq; }
  // Seq of the oldest spooled record (next_seq() when the spool is empty).
  uint64_t first_seq() const;
  const std::vector<FilePosition> &positions() const { return head_.positions; }
  uint64_t size_bytes() const { return total_bytes_; }
  bool Full() const { return total_bytes_ >= options_.max_bytes; }
  uint64_t room_bytes() const { return Full() ? 0 : options_.max_bytes - total_bytes_; }
  const std::vector<std::string> &warnings() const { return warnings_; }
  // When Open() found the newest records deleted: the checkpoint's head
  // (seq and MAC) that the records no longer reach, else seq 0. The sender
  // announces it with a heartbeat right after the last surviving record.
  uint64_t truncated_head_seq() const { return truncated_head_seq_; }
  const std::string &truncated_head_mac() const { return truncated_head_mac_; }

  // Appends a batch (seqs next_seq(), next_seq()+1, ...) whose last event has
  // MAC `head_mac`, and checkpoints `positions` (the inputs' whole state after
  // the batch). On error nothing of the batch remains and the state is as
  // before. An empty batch only writes the checkpoint. One sync: the
  // segment's; the checkpoint is written unsynced.
  Status Append(const std::vector<SpoolEntry> &entries, const std::string &head_mac,
                const std::vector<FilePosition> &positions);

  // Reads spooled events with seq >= from_seq in order, stopping after
  // max_bytes of messages (always at least one event when any is left).
  // Corrupt records are skipped (warning). Sequential calls are O(read).
  Status Read(uint64_t from_seq, size_t max_bytes, std::vector<SpooledMessage> *out);

  // Everything up to `seq` is acknowledged: deletes segments that hold
  // nothing newer (the checkpoint records acked_seq first; if it cannot be
  // written, e.g. on a full disk, the segments are deleted all the same).
  Status Acknowledge(uint64_t seq);

  // Makes the last checkpoint written durable (fdatasync of `state`); a
  // no-op when it is.
  Status SyncCheckpoint();
  bool checkpoint_unsynced() const;

 private:
  explicit Spool(SpoolOptions options);
  // The next generation of head_ into the checkpoint's other slot.
  Status WriteCheckpoint(bool sync);
  // Deletes segments_[done...] (sorted), the checkpoint synced first.
  Status DeleteSegments(const std::vector<size_t> &done);
  Status OpenActive(uint64_t first_seq);
  void Warn(std::string message);
  // Read()'s steps: the segment (index) and offset to start at, one
  // segment's records (*full: max_bytes reached, the cursor set), and the
  // next piece of a segment into *chunk (which starts at *chunk_start).
  struct ReadBudget {
    uint64_t from_seq = 0;
    size_t max_bytes = 0;
    size_t bytes = 0;  // of messages returned so far
  };
  size_t ReadStart(uint64_t from_seq, uint64_t *offset) const;
  Status ReadSegment(const SpoolSegment &seg, uint64_t offset, ReadBudget *budget,
                     std::vector<SpooledMessage> *out, bool *full);
  static Status ReadMore(int fd, const SpoolSegment &seg, uint64_t offset, uint64_t *chunk_start,
                         std::string *chunk);
  // Indexes of the segments holding nothing newer than acked_seq.
  std::vector<size_t> AcknowledgedSegments() const;

  SpoolOptions options_;
  bool created_ = false;
  SpoolCheckpoint head_;                      // what the checkpoint holds, kept current
  std::optional<CheckpointFile> checkpoint_;  // set by Open()
  std::vector<SpoolSegment> segments_;        // sorted by first_seq; the last one is appended to
  UniqueFd active_fd_;                        // open on segments_.back() when appendable
  uint64_t total_bytes_ = 0;
  std::vector<std::string> warnings_;
  uint64_t truncated_head_seq_ = 0;
  std::string truncated_head_mac_;

  // Read cursor: where the record of seq `cursor_seq_` starts, if known.
  uint64_t cursor_seq_ = 0;
  uint64_t cursor_segment_ = 0;  // first_seq of its segment
  uint64_t cursor_offset_ = 0;
};

}  // namespace trailkeep::agent
