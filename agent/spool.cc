#include "agent/spool.h"

#include <algorithm>
#include <cerrno>

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/posix_file.h"
#include "agent/spool_checkpoint_file.h"
#include "agent/spool_recovery.h"

namespace trailkeep::agent {

Spool::Spool(SpoolOptions options) : options_(std::move(options)) {}
Spool::~Spool() = default;

void Spool::Warn(std::string message) {
  spdlog::warn("spool {}: {}", options_.dir, message);
  warnings_.push_back(std::move(message));
}

uint64_t Spool::first_seq() const {
  for (const auto &s : segments_) {
    if (s.last_seq != 0) return std::max(s.first_seq, head_.acked_seq + 1);
  }
  return next_seq();
}

Result<std::unique_ptr<Spool>> Spool::Open(const SpoolOptions &options, const Clock &clock) {
  if (options.dir.empty()) return Status::InvalidArgument("spool_dir is empty");
  if (::mkdir(options.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IoError(ErrnoMessage("cannot create spool directory " + options.dir));
  }
  std::unique_ptr<Spool> spool(new Spool(options));
  const int64_t now_us = clock.NowMicros();
  auto recovered = RecoverSpool(options.dir, static_cast<uint64_t>(now_us) * 1000, now_us,
                                [&spool](std::string m) { spool->Warn(std::move(m)); });
  if (!recovered.ok()) return recovered.status();
  RecoveredSpool &r = recovered.value();
  spool->created_ = r.created;
  spool->head_ = std::move(r.head);
  spool->segments_ = std::move(r.segments);
  spool->total_bytes_ = r.total_bytes;
  spool->truncated_head_seq_ = r.truncated_head_seq;
  spool->truncated_head_mac_ = std::move(r.truncated_head_mac);

  // Past generations stay below the new file's; Create() syncs it.
  ++spool->head_.generation;
  auto checkpoint = CheckpointFile::Create(options.dir, spool->head_);
  if (!checkpoint.ok()) return checkpoint.status();
  spool->checkpoint_.emplace(std::move(checkpoint).value());

  // Append to the last segment while it has room.
  if (!spool->segments_.empty() && spool->segments_.back().size < options.segment_bytes) {
    const SpoolSegment &seg = spool->segments_.back();
    spool->active_fd_.Reset(::open(seg.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    if (!spool->active_fd_.valid()) return Status::IoError(ErrnoMessage("open " + seg.path));
  }
  return spool;
}

Status Spool::WriteCheckpoint(bool sync) {
  ++head_.generation;
  return checkpoint_->Write(head_, sync);
}

Status Spool::SyncCheckpoint() { return checkpoint_->Sync(); }

bool Spool::checkpoint_unsynced() const { return checkpoint_->unsynced(); }

Status Spool::OpenActive(uint64_t first_seq) {
  SpoolSegment seg;
  seg.first_seq = first_seq;
  seg.path = SpoolSegmentPath(options_.dir, first_seq);
  // A known segment of that name that holds no record (left by a failed
  // append whose truncation failed too, or found empty by recovery) is taken
  // over and emptied: creating it anew failed with EEXIST on every retry,
  // and the agent paused its inputs for good (found by spool_fuzz). A file
  // nobody knows is never clobbered.
  const auto known = std::find_if(segments_.begin(), segments_.end(), [&](const SpoolSegment &s) {
    return s.first_seq == first_seq && s.size == 0;
  });
  const int flags = known != segments_.end() ? O_TRUNC : O_EXCL;
  UniqueFd fd(::open(seg.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | flags, 0600));
  if (!fd.valid()) return Status::IoError(ErrnoMessage("create " + seg.path));
  if (known != segments_.end()) segments_.erase(known);
  Status s = FsyncDir(options_.dir);
  if (!s.ok()) {
    ::unlink(seg.path.c_str());
    return s;
  }
  active_fd_ = std::move(fd);
  segments_.push_back(std::move(seg));
  return Status::Ok();
}

Status Spool::Append(const std::vector<SpoolEntry> &entries, const std::string &head_mac,
                     const std::vector<FilePosition> &positions) {
  if (!entries.empty()) {
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].seq != head_.last_seq + 1 + i) {
        return Status::InvalidArgument("spool append out of sequence: got seq " +
                                       std::to_string(entries[i].seq) + ", expected " +
                                       std::to_string(head_.last_seq + 1 + i));
      }
    }
    if (!active_fd_.valid() || segments_.back().size >= options_.segment_bytes) {
      active_fd_.Reset();
      Status s = OpenActive(entries.front().seq);
      if (!s.ok()) return s;
    }
    std::string buf;
    AppendEntryRecords(entries, &buf);
    SpoolSegment &seg = segments_.back();
    Status s = WriteAll(active_fd_.get(), buf);
    if (s.ok() && ::fdatasync(active_fd_.get()) != 0) {
      s = Status::IoError(ErrnoMessage("fdatasync"));
    }
    if (!s.ok()) {
      // Leave nothing of the batch behind.
      if (::ftruncate(active_fd_.get(), static_cast<off_t>(seg.size)) != 0) {
        active_fd_.Reset();  // the next append starts a new segment
      }
      const std::string failed = "spool append to " + seg.path + " failed: " + s.message();
      // An acknowledged segment kept for appends gives its room back (a
      // full disk), so that the retry starts a new one.
      if (seg.last_seq != 0 && seg.last_seq <= head_.acked_seq) {
        (void)DeleteSegments({segments_.size() - 1});
      }
      return Status::IoError(failed);
    }
    seg.size += buf.size();
    seg.last_seq = entries.back().seq;
    total_bytes_ += buf.size();
    head_.last_seq = entries.back().seq;
    head_.head_mac = head_mac;
    head_.key_id = entries.back().key_id;
  }
  head_.positions = positions;
  // Not synced: the records are durable, the checkpoint is never ahead of
  // them; it survives the agent's death, and a power loss takes it back at
  // most to an older one, which Open() rolls forward from the records.
  Status s = WriteCheckpoint(/*sync=*/false);
  if (!s.ok()) {
    // The records are durable; Open() rolls forward over them.
    spdlog::error("spool {}: checkpoint not written ({}); recovery will roll forward", options_.dir,
                  s.message());
  }
  return Status::Ok();
}

size_t Spool::ReadStart(uint64_t from_seq, uint64_t *offset) const {
  *offset = 0;
  if (cursor_seq_ != 0 && cursor_seq_ == from_seq) {
    for (size_t i = 0; i < segments_.size(); ++i) {
      if (segments_[i].first_seq == cursor_segment_) {
        *offset = cursor_offset_;
        return i;
      }
    }
  }
  size_t seg_index = 0;
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (segments_[i].first_seq <= from_seq) seg_index = i;
  }
  return seg_index;
}

Status Spool::Read(uint64_t from_seq, size_t max_bytes, std::vector<SpooledMessage> *out) {
  ReadBudget budget{from_seq, max_bytes, 0};
  uint64_t offset = 0;
  for (size_t seg_index = ReadStart(from_seq, &offset); seg_index < segments_.size();
       ++seg_index, offset = 0) {
    bool full = false;
    Status s = ReadSegment(segments_[seg_index], offset, &budget, out, &full);
    if (!s.ok() || full) return s;
  }
  // Caught up: the next record (next_seq()) will be appended at the end,
  // also when nothing was read: the sender's next call then starts there
  // rather than scanning the active segment's acknowledged records, which
  // it keeps while it has room.
  cursor_seq_ = segments_.empty() ? 0 : next_seq();
  if (!segments_.empty()) {
    cursor_segment_ = segments_.back().first_seq;
    cursor_offset_ = segments_.back().size;
  }
  return Status::Ok();
}

Status Spool::ReadSegment(const SpoolSegment &seg, uint64_t offset, ReadBudget *budget,
                          std::vector<SpooledMessage> *out, bool *full) {
  if (offset >= seg.size) return Status::Ok();
  UniqueFd fd(::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::IoError(ErrnoMessage("open " + seg.path));
  // chunk holds the file's bytes from chunk_start on; it is read further
  // when the record at `offset` does not fit.
  std::string chunk;
  uint64_t chunk_start = offset;
  while (offset < seg.size) {
    const size_t have = static_cast<size_t>(chunk_start + chunk.size() - offset);
    DecodedRecord d;
    if (have >= kSpoolFrameHeaderBytes) {
      d = DecodeRecordAt(chunk, static_cast<size_t>(offset - chunk_start));
    }
    if (have < kSpoolFrameHeaderBytes || d.state == FrameState::kTruncated) {
      if (chunk_start + chunk.size() >= seg.size) {
        Warn("segment " + seg.path + " ends in an incomplete record at " + std::to_string(offset));
        return Status::Ok();
      }
      Status s = ReadMore(fd.get(), seg, offset, &chunk_start, &chunk);
      if (!s.ok()) return s;
      continue;
    }
    if (d.state == FrameState::kBadLength) {
      Warn("segment " + seg.path + " has a bad record length at " + std::to_string(offset) +
           "; skipping the rest of it");
      return Status::Ok();
    }
    const uint64_t rec_offset = offset;
    offset = chunk_start + d.end;
    if (d.state != FrameState::kOk) {
      Warn("corrupt record in " + seg.path + " at offset " + std::to_string(rec_offset) + " (" +
           DescribeFrameState(d.state) + "): skipped");
      continue;
    }
    if (d.entry.seq < budget->from_seq) continue;
    if (!out->empty() && budget->bytes + d.entry.message.size() > budget->max_bytes) {
      cursor_seq_ = d.entry.seq;
      cursor_segment_ = seg.first_seq;
      cursor_offset_ = rec_offset;
      *full = true;
      return Status::Ok();
    }
    budget->bytes += d.entry.message.size();
    out->push_back({d.entry.seq, std::move(d.entry.message)});
  }
  return Status::Ok();
}

Status Spool::ReadMore(int fd, const SpoolSegment &seg, uint64_t offset, uint64_t *chunk_start,
                       std::string *chunk) {
  chunk->erase(0, static_cast<size_t>(offset - *chunk_start));
  *chunk_start = offset;
  const size_t want = std::max<size_t>(1 << 20, kSpoolFrameHeaderBytes + kMaxSpoolRecordBytes / 16);
  const size_t old = chunk->size();
  const uint64_t left = seg.size - (*chunk_start + old);
  chunk->resize(old + static_cast<size_t>(std::min<uint64_t>(want, left)));
  const ssize_t n =
      ::pread(fd, chunk->data() + old, chunk->size() - old, static_cast<off_t>(*chunk_start + old));
  if (n <= 0) return Status::IoError(ErrnoMessage("read " + seg.path));
  chunk->resize(old + static_cast<size_t>(n));
  return Status::Ok();
}

Status Spool::Acknowledge(uint64_t seq) {
  if (seq <= head_.acked_seq) return Status::Ok();
  head_.acked_seq = std::min(seq, head_.last_seq);
  const std::vector<size_t> done = AcknowledgedSegments();
  if (done.empty()) return Status::Ok();
  return DeleteSegments(done);
}

Status Spool::DeleteSegments(const std::vector<size_t> &done) {
  // Synced first: once the records are gone, the checkpoint alone keeps
  // their seqs from being handed out again.
  Status s = WriteCheckpoint(/*sync=*/true);
  if (!s.ok()) {
    spdlog::warn(
        "spool {}: checkpoint not written before deleting "
        "acknowledged segments ({})",
        options_.dir, s.message());
  }
  for (auto it = done.rbegin(); it != done.rend(); ++it) {
    const SpoolSegment &seg = segments_[*it];
    if (*it + 1 == segments_.size()) active_fd_.Reset();
    if (::unlink(seg.path.c_str()) != 0 && errno != ENOENT) {
      return Status::IoError(ErrnoMessage("unlink " + seg.path));
    }
    total_bytes_ -= seg.size;
    spdlog::debug("spool: deleted acknowledged segment {}", seg.path);
    segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(*it));
  }
  if (!s.ok()) s = WriteCheckpoint(/*sync=*/true);  // there may be room now
  return Status::Ok();
}

std::vector<size_t> Spool::AcknowledgedSegments() const {
  // A segment is done when nothing in it is newer than acked_seq: for all
  // but the last, the next segment's first seq bounds it. The active one is
  // kept while it has room (and takes at most half the spool's bound):
  // deleting it would cost a synced checkpoint, and its successor's creation
  // a directory fsync, for every batch once the sender keeps up.
  const bool keep_active = active_fd_.valid() && !segments_.empty() &&
                           segments_.back().last_seq != 0 &&
                           segments_.back().size < options_.segment_bytes &&
                           2 * options_.segment_bytes <= options_.max_bytes;
  std::vector<size_t> done;
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (keep_active && i + 1 == segments_.size()) break;
    const uint64_t bound = i + 1 < segments_.size()
                               ? std::max(segments_[i].last_seq, segments_[i + 1].first_seq - 1)
                               : segments_[i].last_seq;
    if (bound <= head_.acked_seq) done.push_back(i);
  }
  return done;
}

}  // namespace trailkeep::agent
