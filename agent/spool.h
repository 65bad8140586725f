// Spool: the agent's durable, append-only queue of signed events.
//
// Layout of spool_dir:
//   seg-<first seq, 20 digits>.tks   segments, in seq order
//   state                             the checkpoint
// Every file is a sequence of records framed as
//   4-byte big-endian payload length | 4-byte big-endian CRC-32 (zlib) of the payload | payload
// A segment's payloads are serialized trailkeep.v1.SpoolRecord messages
// (proto/trailkeep/v1/spool.proto) whose `message` holds the signed RFC 5424
// bytes exactly as they are sent; `state` holds one framed SpoolState: epoch,
// last seq, head MAC and its key id, acknowledged seq and each input's file positions (a
// journal input's: its cursor) as of the last appended record. It is replaced atomically (write
// tmp, fsync, rename, fsync the directory).
//
// Durability: Append() writes a whole batch to the active segment, fsyncs it,
// then rewrites the checkpoint, before it returns; callers send nothing that
// Append() has not returned. A crash between the segment fsync and the
// checkpoint is repaired at Open() by rolling forward over the records after
// the checkpoint's head.
//
// Recovery (Open): the checkpoint is loaded, every segment is scanned and
// CRC-checked, records after the checkpoint's head roll the head and the
// positions forward, and a torn tail (an incomplete or bad record at the end
// of the last segment) is truncated with a warning. A corrupt record in the
// middle is skipped (warning), never repaired. Sequence numbers are never
// reused: the next seq is max(checkpoint seq, last record seq, the first seq
// a non-empty segment is named by) + 1, also when
// the newest records were deleted behind the agent's back (loud warning; the
// collector notices from the heartbeat's head); the positions of the files
// whose newest records were deleted go back to their last surviving record,
// so those lines are read again and sent as new events. A directory with neither
// checkpoint nor segments is a new spool with a new epoch (creation time in
// ns since the Unix epoch, as the clock given to Open() reads it).
//
// Space: size_bytes() counts segment bytes; Full() says when the owner must
// stop reading its inputs (nothing is ever dropped). Acknowledge() deletes
// segments whose every record is acknowledged.
//
// Warnings are logged with spdlog and also kept in warnings() for tests.
// Not thread-safe: one owner thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "agent/file_position.h"
#include "agent/unique_fd.h"
#include "common/base/clock.h"
#include "common/base/status.h"

namespace trailkeep::agent {

struct SpoolOptions {
  std::string dir;
  uint64_t max_bytes = uint64_t{1} << 30;
  uint64_t segment_bytes = uint64_t{16} << 20;
};

// One event to append; `seq` must continue the spool's sequence.
struct SpoolEntry {
  uint64_t seq = 0;
  std::string input;
  uint64_t file_dev = 0, file_ino = 0, offset_end = 0;
  std::string message;
  std::string cursor;  // a journal entry's cursor ("" for every other record)
  std::string key_id;  // KeyId of the HMAC key `message` is signed with
};

// One spooled event read back for sending.
struct SpooledMessage {
  uint64_t seq = 0;
  std::string message;
};

inline constexpr uint32_t kMaxSpoolRecordBytes = 16u << 20;

// Frames `payload` as a spool record (length, CRC, payload) onto *out.
void AppendFramedRecord(std::string_view payload, std::string* out);

class Spool {
 public:
  // Opens or creates the spool in options.dir (created with mode 0700 if
  // missing). `clock`'s time (in ns) becomes the epoch of a new spool; it is
  // read during Open() only.
  static Result<std::unique_ptr<Spool>> Open(const SpoolOptions& options, const Clock& clock);
  ~Spool();

  bool created() const { return created_; }  // a new spool (new epoch) was made by Open()
  uint64_t epoch() const { return epoch_; }
  uint64_t last_seq() const { return last_seq_; }  // 0 before the first event
  uint64_t next_seq() const { return last_seq_ + 1; }
  const std::string& head_mac() const { return head_mac_; }  // 32 zero bytes before the first
  // KeyId of the key the head is signed with ("" before the first event and
  // in spools older than key rotation).
  const std::string& head_key_id() const { return head_key_id_; }
  uint64_t acked_seq() const { return acked_seq_; }
  // Seq of the oldest spooled record (next_seq() when the spool is empty).
  uint64_t first_seq() const;
  const std::vector<FilePosition>& positions() const { return positions_; }
  uint64_t size_bytes() const { return total_bytes_; }
  bool Full() const { return total_bytes_ >= options_.max_bytes; }
  uint64_t room_bytes() const { return Full() ? 0 : options_.max_bytes - total_bytes_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  // When Open() found the newest records deleted: the checkpoint's head
  // (seq and MAC) that the records no longer reach, else seq 0. The sender
  // announces it with a heartbeat right after the last surviving record.
  uint64_t truncated_head_seq() const { return truncated_head_seq_; }
  const std::string& truncated_head_mac() const { return truncated_head_mac_; }

  // Appends a batch (seqs next_seq(), next_seq()+1, ...) whose last event has
  // MAC `head_mac`, and checkpoints `positions` (the inputs' whole state after
  // the batch). On error nothing of the batch remains and the state is as
  // before. An empty batch only rewrites the checkpoint.
  Status Append(const std::vector<SpoolEntry>& entries, const std::string& head_mac,
                const std::vector<FilePosition>& positions);

  // Reads spooled events with seq >= from_seq in order, stopping after
  // max_bytes of messages (always at least one event when any is left).
  // Corrupt records are skipped (warning). Sequential calls are O(read).
  Status Read(uint64_t from_seq, size_t max_bytes, std::vector<SpooledMessage>* out);

  // Everything up to `seq` is acknowledged: deletes segments that hold
  // nothing newer (the checkpoint records acked_seq first; if it cannot be
  // written, e.g. on a full disk, the segments are deleted all the same).
  Status Acknowledge(uint64_t seq);

 private:
  struct Segment {
    uint64_t first_seq = 0;  // from the file name
    uint64_t last_seq = 0;   // highest seq inside (0: none)
    uint64_t size = 0;       // bytes of valid records
    std::string path;
  };
  struct ScanResult;

  explicit Spool(SpoolOptions options);
  Status Recover(int64_t now_us, uint64_t now_ns);
  struct LastRecord {
    uint64_t seq = 0, offset_end = 0;
    std::string cursor;  // journal records
  };
  using LastRecords = std::map<std::tuple<std::string, uint64_t, uint64_t>, LastRecord>;
  Status ScanSegment(Segment* seg, bool is_last, std::vector<SpoolEntry>* after, uint64_t after_seq,
                     LastRecords* last_records);
  Status WriteCheckpoint();
  Status OpenActive(uint64_t first_seq);
  std::string SegmentPath(uint64_t first_seq) const;
  void Warn(std::string message);

  SpoolOptions options_;
  bool created_ = false;
  uint64_t epoch_ = 0;
  uint64_t last_seq_ = 0;
  std::string head_mac_;
  std::string head_key_id_;
  uint64_t acked_seq_ = 0;
  std::vector<FilePosition> positions_;
  std::vector<Segment> segments_;  // sorted by first_seq; the last one is appended to
  UniqueFd active_fd_;             // open on segments_.back() when appendable
  uint64_t total_bytes_ = 0;
  std::vector<std::string> warnings_;
  uint64_t truncated_head_seq_ = 0;
  std::string truncated_head_mac_;
  bool checkpoint_failing_ = false;  // to log a failing checkpoint once

  // Read cursor: where the record of seq `cursor_seq_` starts, if known.
  uint64_t cursor_seq_ = 0;
  uint64_t cursor_segment_ = 0;  // first_seq of its segment
  uint64_t cursor_offset_ = 0;
};

}  // namespace trailkeep::agent
