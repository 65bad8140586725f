// The spool's on-disk records (agent/spool.h has the layout): framing, and
// what the frames hold.
//
// A frame is
//   4-byte big-endian payload length | 4-byte big-endian CRC-32 (zlib) of the payload | payload
// with 0 < length <= kMaxSpoolRecordBytes. A segment's payloads are
// serialized trailkeep.v1.SpoolRecord messages (proto/trailkeep/v1/spool.proto),
// the checkpoint's one payload a trailkeep.v1.SpoolState.
//
// Pure code: no I/O, no logging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/file_position.h"

namespace trailkeep::agent {

inline constexpr uint32_t kMaxSpoolRecordBytes = 16u << 20;
inline constexpr size_t kSpoolFrameHeaderBytes = 8;

// One event to append; `seq` must continue the spool's sequence.
struct SpoolEntry {
  uint64_t seq = 0;
  std::string input;
  uint64_t file_dev = 0, file_ino = 0, offset_end = 0;
  std::string message;
  std::string cursor;  // a journal entry's cursor ("" for every other record)
  std::string key_id;  // KeyId of the HMAC key `message` is signed with
};

// What the checkpoint file holds: the spool's head as of the last appended
// record, and each input's state then.
struct SpoolCheckpoint {
  uint64_t epoch = 0;  // creation time, ns since the Unix epoch
  uint64_t last_seq = 0;
  std::string head_mac;
  std::string key_id;  // of the head's key
  uint64_t acked_seq = 0;
  std::vector<FilePosition> positions;
  uint64_t generation = 0;  // of the checkpoint's write (agent/spool_checkpoint_file.h)
};

// Frames `payload` as a spool record (length, CRC, payload) onto *out.
void AppendFramedRecord(std::string_view payload, std::string* out);

// Serializes and frames each entry, in order, onto *out.
void AppendEntryRecords(const std::vector<SpoolEntry>& entries, std::string* out);

// The state of the frame found at some offset of a file.
enum class FrameState {
  kOk,
  kTruncated,   // the data ends inside it
  kBadLength,   // a length of 0 or above kMaxSpoolRecordBytes: nothing after can be framed
  kBadCrc,      // framed, but its payload fails the CRC
  kBadPayload,  // framed and CRC-clean, but not a SpoolRecord with a seq
};
// "CRC mismatch", "incomplete record", ...: for warnings.
const char* DescribeFrameState(FrameState state);

struct DecodedRecord {
  FrameState state = FrameState::kOk;
  size_t end = 0;    // offset just after the frame (unless kTruncated or kBadLength)
  SpoolEntry entry;  // when kOk
};

// Decodes the record framed at data[pos...] (pos < data.size()).
DecodedRecord DecodeRecordAt(std::string_view data, size_t pos);

// The checkpoint, framed.
std::string EncodeCheckpoint(const SpoolCheckpoint& checkpoint);
// The checkpoint a file's bytes hold; nullopt when they do not hold one (a
// bad frame, an undecodable payload, epoch 0). Bytes after the frame are
// ignored.
std::optional<SpoolCheckpoint> DecodeCheckpoint(std::string_view data);

}  // namespace trailkeep::agent
