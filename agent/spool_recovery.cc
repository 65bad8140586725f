#include "agent/spool_recovery.h"

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>
#include <tuple>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "agent/posix_file.h"
#include "agent/signed_event_link.h"
#include "agent/spool_checkpoint_file.h"
#include "common/wire/hmac_chain.h"

namespace trailkeep::agent {
namespace {

// The newest record of one file (input, dev, ino) or journal (input, 0, 0).
struct LastRecord {
  uint64_t seq = 0, offset_end = 0;
  std::string cursor;  // journal records
};
using LastRecords = std::map<std::tuple<std::string, uint64_t, uint64_t>, LastRecord>;

// What the scan of the segments found.
struct ScanFindings {
  std::vector<SpoolEntry> after;  // records newer than the checkpoint's head
  LastRecords last_records;
  uint64_t max_record_seq = 0;
};

// The checkpoint, if there is a readable one.
Result<std::optional<SpoolCheckpoint>> LoadCheckpoint(const std::string& dir,
                                                      const SpoolWarn& warn) {
  auto bytes = ReadWholeFile(dir + "/" + kCheckpointName);
  if (!bytes.ok()) {
    if (bytes.status().code() == Status::Code::kNotFound) return std::optional<SpoolCheckpoint>();
    return bytes.status();
  }
  std::optional<SpoolCheckpoint> checkpoint = DecodeCheckpointFile(bytes.value());
  if (!checkpoint) {
    warn("checkpoint " + dir + "/state is corrupt; rebuilding it from the segments");
  }
  return checkpoint;
}

bool EndsTheData(const DecodedRecord& d, size_t size) {
  return d.state == FrameState::kTruncated || d.state == FrameState::kBadLength || d.end == size;
}

void NoteRecord(SpoolEntry entry, uint64_t after_seq, SpoolSegment* seg, ScanFindings* found) {
  const uint64_t seq = entry.seq;
  seg->last_seq = std::max(seg->last_seq, seq);
  if (entry.file_dev != 0 || entry.file_ino != 0 || !entry.cursor.empty()) {
    LastRecord& last = found->last_records[{entry.input, entry.file_dev, entry.file_ino}];
    if (seq > last.seq) last = {seq, entry.offset_end, entry.cursor};
  }
  if (seq > after_seq) found->after.push_back(std::move(entry));
}

// Reads every record of *seg; truncates a torn tail when it is the last
// segment. Sets seg->size and seg->last_seq.
Status ScanSegment(SpoolSegment* seg, bool is_last, uint64_t after_seq, ScanFindings* found,
                   const SpoolWarn& warn) {
  auto data = ReadWholeFile(seg->path);
  if (!data.ok()) return data.status();
  const std::string_view bytes = data.value();
  size_t pos = 0;
  while (pos < bytes.size()) {
    DecodedRecord d = DecodeRecordAt(bytes, pos);
    const char* what = DescribeFrameState(d.state);
    if (d.state != FrameState::kOk && is_last && EndsTheData(d, bytes.size())) {
      warn("torn tail in " + seg->path + " at offset " + std::to_string(pos) + " (" + what + ", " +
           std::to_string(bytes.size() - pos) +
           " bytes): truncated; it was never acknowledged to its input");
      if (::truncate(seg->path.c_str(), static_cast<off_t>(pos)) != 0) {
        return Status::IoError(ErrnoMessage("truncate " + seg->path));
      }
      seg->size = pos;
      return Status::Ok();
    }
    if (d.state == FrameState::kTruncated || d.state == FrameState::kBadLength) {
      warn("corrupt segment " + seg->path + " at offset " + std::to_string(pos) + " (" + what +
           "): its last " + std::to_string(bytes.size() - pos) + " bytes cannot be read");
      break;
    }
    if (d.state != FrameState::kOk) {
      warn("corrupt record in " + seg->path + " at offset " + std::to_string(pos) + " (" + what +
           "): skipped");
    } else {
      NoteRecord(std::move(d.entry), after_seq, seg, found);
    }
    pos = d.end;
  }
  seg->size = bytes.size();
  return Status::Ok();
}

void SetPosition(std::vector<FilePosition>* positions, const std::string& input, uint64_t dev,
                 uint64_t ino, uint64_t offset) {
  for (auto& p : *positions) {
    if (p.input == input && p.dev == dev && p.ino == ino) {
      p.offset = offset;
      p.tail.clear();  // unknown: the tailer reads it back from the file
      return;
    }
  }
  positions->push_back({input, "", dev, ino, offset, "", ""});
}

// A journal input's position (dev, ino 0): the cursor of its newest record.
void SetCursor(std::vector<FilePosition>* positions, const std::string& input,
               const std::string& cursor) {
  for (auto& p : *positions) {
    if (p.input == input && p.dev == 0 && p.ino == 0) {
      p.cursor = cursor;
      return;
    }
  }
  positions->push_back({input, "", 0, 0, 0, "", cursor});
}

// Moves the head and the positions over the records after the checkpoint
// (sorted by seq). The MAC is read back from each record's signed bytes.
void RollForward(const std::vector<SpoolEntry>& after, int64_t now_us, SpoolCheckpoint* head,
                 const SpoolWarn& warn) {
  for (const auto& e : after) {
    const std::optional<ChainLink> link = SignedEventLink(e.message, now_us);
    if (!link) {
      warn("record " + std::to_string(e.seq) + " carries no readable chain element");
      continue;
    }
    if (head->epoch == 0) head->epoch = link->epoch;
    if (link->epoch != head->epoch || link->seq != e.seq) {
      warn("record " + std::to_string(e.seq) + " names epoch " + std::to_string(link->epoch) +
           " seq " + std::to_string(link->seq) + "; the spool's epoch is " +
           std::to_string(head->epoch));
    }
    head->last_seq = e.seq;
    head->head_mac = link->mac;
    head->key_id = e.key_id;
    if (e.file_ino != 0 || e.file_dev != 0) {
      SetPosition(&head->positions, e.input, e.file_dev, e.file_ino, e.offset_end);
    } else if (!e.cursor.empty()) {
      SetCursor(&head->positions, e.input, e.cursor);
    }
  }
}

// The newest records were deleted: each input goes back to its last
// surviving record where the records tell where, so the deleted records'
// lines (journal entries) are read again.
void RewindToSurvivors(const LastRecords& last_records, std::vector<FilePosition>* positions,
                       const SpoolWarn& warn) {
  for (auto& p : *positions) {
    auto it = last_records.find({p.input, p.dev, p.ino});
    if (it == last_records.end()) continue;
    const LastRecord& last = it->second;
    if (!p.cursor.empty() && last.cursor != p.cursor) {
      warn("input " + p.input + ": the journal goes back to the cursor of its last surviving " +
           "record (seq " + std::to_string(last.seq) +
           "): the deleted records' entries are read again");
      p.cursor = last.cursor;
      continue;
    }
    if (last.offset_end < p.offset) {
      warn("input " + p.input + ": " + p.path + " goes back from offset " +
           std::to_string(p.offset) + " to " + std::to_string(last.offset_end) +
           ", after its last surviving record (seq " + std::to_string(last.seq) +
           "): the deleted records' lines are read again");
      p.offset = last.offset_end;
      p.tail.clear();
    }
  }
}

// A segment's name claims the seqs from its first one on. When none of a
// segment's records can be read (corrupt, and the checkpoint lost too), the
// seqs before would be handed out again, and the next new segment would be
// given the name that exists: every Append failed and the agent paused its
// inputs for good. Continue after the claimed seq instead; the collector
// sees the lost records as a gap.
void ClaimNamedSeqs(const std::vector<SpoolSegment>& segments, uint64_t* last_seq,
                    const SpoolWarn& warn) {
  for (const SpoolSegment& seg : segments) {
    if (seg.size != 0 && seg.first_seq > *last_seq) {
      warn("segment " + seg.path + " holds no readable record of its seqs; continuing at seq " +
           std::to_string(seg.first_seq + 1) + " (seqs never go back)");
      *last_seq = seg.first_seq;
    }
  }
}

}  // namespace

Result<RecoveredSpool> RecoverSpool(const std::string& dir, uint64_t new_epoch, int64_t now_us,
                                    const SpoolWarn& warn) {
  RecoveredSpool r;
  auto loaded = LoadCheckpoint(dir, warn);
  if (!loaded.ok()) return loaded.status();
  const std::optional<SpoolCheckpoint>& checkpoint = loaded.value();

  auto listed = ListSpoolSegments(dir);
  if (!listed.ok()) return listed.status();
  r.segments = std::move(listed).value();

  const uint64_t checkpoint_seq = checkpoint ? checkpoint->last_seq : 0;
  ScanFindings found;
  for (size_t i = 0; i < r.segments.size(); ++i) {
    Status s =
        ScanSegment(&r.segments[i], i + 1 == r.segments.size(), checkpoint_seq, &found, warn);
    if (!s.ok()) return s;
    found.max_record_seq = std::max(found.max_record_seq, r.segments[i].last_seq);
    r.total_bytes += r.segments[i].size;
  }

  if (!checkpoint && r.segments.empty()) {
    r.created = true;
    r.head.epoch = new_epoch;
    r.head.head_mac.assign(kMacBytes, '\0');
    return r;
  }

  if (checkpoint) r.head = *checkpoint;
  if (r.head.head_mac.size() != kMacBytes) r.head.head_mac.assign(kMacBytes, '\0');

  std::sort(found.after.begin(), found.after.end(),
            [](const SpoolEntry& a, const SpoolEntry& b) { return a.seq < b.seq; });
  RollForward(found.after, now_us, &r.head, warn);
  if (!found.after.empty()) {
    spdlog::info("spool {}: rolled forward over {} record(s) after the checkpoint (seq {}..{})",
                 dir, found.after.size(), found.after.front().seq, found.after.back().seq);
  }
  if (r.head.epoch == 0) {
    // Segments but no checkpoint and no readable record: start a new epoch
    // rather than guess; the old records are still sent.
    warn("no checkpoint and no readable record: starting a new epoch");
    r.created = true;
    r.head.epoch = new_epoch;
  }
  if (checkpoint && found.max_record_seq < checkpoint_seq && checkpoint_seq > r.head.acked_seq) {
    r.truncated_head_seq = checkpoint_seq;
    r.truncated_head_mac = checkpoint->head_mac;
    RewindToSurvivors(found.last_records, &r.head.positions, warn);
    warn("the spool's records end at seq " + std::to_string(found.max_record_seq) +
         " but the checkpoint's head is seq " + std::to_string(checkpoint_seq) +
         ": the newest spooled events were DELETED; continuing at seq " +
         std::to_string(checkpoint_seq + 1) + " (the collector sees the truncated tail)");
  }
  r.head.last_seq = std::max(r.head.last_seq, found.max_record_seq);
  ClaimNamedSeqs(r.segments, &r.head.last_seq, warn);
  return r;
}

}  // namespace trailkeep::agent
