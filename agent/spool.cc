#include "agent/spool.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <tuple>

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/crc32.h"
#include "common/syslog/syslog_parser.h"
#include "common/wire/hmac_chain.h"
#include "trailkeep/v1/record.pb.h"
#include "trailkeep/v1/spool.pb.h"

namespace trailkeep::agent {
namespace {

constexpr size_t kHeaderBytes = 8;
constexpr char kStateName[] = "state";
constexpr char kStateTmpName[] = "state.tmp";
constexpr std::string_view kSegPrefix = "seg-";
constexpr std::string_view kSegSuffix = ".tks";

void PutBE32(uint32_t v, std::string* out) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(b, 4);
}

uint32_t GetBE32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(u[0]) << 24 | static_cast<uint32_t>(u[1]) << 16 |
         static_cast<uint32_t>(u[2]) << 8 | static_cast<uint32_t>(u[3]);
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(Errno("write"));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status FsyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Status::IoError(Errno("open " + dir));
  if (::fsync(fd.get()) != 0) return Status::IoError(Errno("fsync " + dir));
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::NotFound(path);
    return Status::IoError(Errno("open " + path));
  }
  std::string data;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(Errno("read " + path));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

// One framed record found in a buffer.
enum class RecordState { kOk, kTruncated, kBadLength, kBadCrc, kBadPayload };
struct Framed {
  RecordState state = RecordState::kOk;
  size_t end = 0;  // offset just after the record (valid unless kTruncated/kBadLength)
  v1::SpoolRecord record;
};

// Decodes the record at data[pos...].
Framed DecodeAt(std::string_view data, size_t pos) {
  Framed f;
  if (data.size() - pos < kHeaderBytes) {
    f.state = RecordState::kTruncated;
    return f;
  }
  const uint32_t len = GetBE32(data.data() + pos);
  const uint32_t crc = GetBE32(data.data() + pos + 4);
  if (len == 0 || len > kMaxSpoolRecordBytes) {
    f.state = RecordState::kBadLength;
    return f;
  }
  if (data.size() - pos - kHeaderBytes < len) {
    f.state = RecordState::kTruncated;
    return f;
  }
  const std::string_view payload = data.substr(pos + kHeaderBytes, len);
  f.end = pos + kHeaderBytes + len;
  if (Crc32(payload) != crc) {
    f.state = RecordState::kBadCrc;
  } else if (!f.record.ParseFromArray(payload.data(), static_cast<int>(payload.size())) ||
             f.record.seq() == 0) {
    f.state = RecordState::kBadPayload;
  }
  return f;
}

const char* Describe(RecordState s) {
  switch (s) {
    case RecordState::kOk:
      return "ok";
    case RecordState::kTruncated:
      return "incomplete record";
    case RecordState::kBadLength:
      return "bad record length";
    case RecordState::kBadCrc:
      return "CRC mismatch";
    case RecordState::kBadPayload:
      return "undecodable record";
  }
  return "?";
}

// Chain element of a signed message: epoch and own MAC.
bool ChainOfMessage(std::string_view message, int64_t now_us, uint32_t* pen_out, ChainLink* link) {
  v1::Event e;
  ParseSyslog(message, now_us, &e);
  for (const auto& el : e.structured_data()) {
    const std::string& id = el.id();
    if (id.rfind("tk@", 0) != 0) continue;
    const uint32_t pen = static_cast<uint32_t>(std::strtoul(id.c_str() + 3, nullptr, 10));
    ChainFields f = ExtractChain(e, pen);
    if (f.kind != ChainKind::kEvent || !f.error.empty()) return false;
    *pen_out = pen;
    *link = f.link;
    return true;
  }
  return false;
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

}  // namespace

void AppendFramedRecord(std::string_view payload, std::string* out) {
  PutBE32(static_cast<uint32_t>(payload.size()), out);
  PutBE32(Crc32(payload), out);
  out->append(payload);
}

Spool::Spool(SpoolOptions options) : options_(std::move(options)) {}
Spool::~Spool() = default;

void Spool::Warn(std::string message) {
  spdlog::warn("spool {}: {}", options_.dir, message);
  warnings_.push_back(std::move(message));
}

std::string Spool::SegmentPath(uint64_t first_seq) const {
  char name[64];
  std::snprintf(name, sizeof name, "seg-%020llu.tks", static_cast<unsigned long long>(first_seq));
  return options_.dir + "/" + name;
}

uint64_t Spool::first_seq() const {
  for (const auto& s : segments_) {
    if (s.last_seq != 0) return std::max(s.first_seq, acked_seq_ + 1);
  }
  return next_seq();
}

Result<std::unique_ptr<Spool>> Spool::Open(const SpoolOptions& options, const Clock& clock) {
  if (options.dir.empty()) return Status::InvalidArgument("spool_dir is empty");
  if (::mkdir(options.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IoError(Errno("cannot create spool directory " + options.dir));
  }
  std::unique_ptr<Spool> spool(new Spool(options));
  const int64_t now_us = clock.NowMicros();
  Status s = spool->Recover(now_us, static_cast<uint64_t>(now_us) * 1000);
  if (!s.ok()) return s;
  return spool;
}

Status Spool::ScanSegment(Segment* seg, bool is_last, std::vector<SpoolEntry>* after,
                          uint64_t after_seq, LastRecords* last_records) {
  auto data = ReadFile(seg->path);
  if (!data.ok()) return data.status();
  const std::string_view bytes = data.value();
  size_t pos = 0;
  while (pos < bytes.size()) {
    Framed f = DecodeAt(bytes, pos);
    const bool at_end = f.state == RecordState::kTruncated || f.state == RecordState::kBadLength ||
                        f.end == bytes.size();
    if (f.state != RecordState::kOk && is_last && at_end) {
      Warn("torn tail in " + seg->path + " at offset " + std::to_string(pos) + " (" +
           Describe(f.state) + ", " + std::to_string(bytes.size() - pos) +
           " bytes): truncated; it was never acknowledged to its input");
      if (::truncate(seg->path.c_str(), static_cast<off_t>(pos)) != 0) {
        return Status::IoError(Errno("truncate " + seg->path));
      }
      seg->size = pos;
      return Status::Ok();
    }
    if (f.state == RecordState::kTruncated || f.state == RecordState::kBadLength) {
      Warn("corrupt segment " + seg->path + " at offset " + std::to_string(pos) + " (" +
           Describe(f.state) + "): its last " + std::to_string(bytes.size() - pos) +
           " bytes cannot be read");
      break;
    }
    if (f.state != RecordState::kOk) {
      Warn("corrupt record in " + seg->path + " at offset " + std::to_string(pos) + " (" +
           Describe(f.state) + "): skipped");
    } else {
      const uint64_t seq = f.record.seq();
      seg->last_seq = std::max(seg->last_seq, seq);
      if (f.record.file_dev() != 0 || f.record.file_ino() != 0 || !f.record.cursor().empty()) {
        LastRecord& last =
            (*last_records)[{f.record.input(), f.record.file_dev(), f.record.file_ino()}];
        if (seq > last.seq) last = {seq, f.record.offset_end(), f.record.cursor()};
      }
      if (seq > after_seq) {
        SpoolEntry e;
        e.seq = seq;
        e.input = f.record.input();
        e.file_dev = f.record.file_dev();
        e.file_ino = f.record.file_ino();
        e.offset_end = f.record.offset_end();
        e.message = f.record.message();
        e.cursor = f.record.cursor();
        e.key_id = f.record.key_id();
        after->push_back(std::move(e));
      }
    }
    pos = f.end;
  }
  seg->size = bytes.size();
  return Status::Ok();
}

Status Spool::Recover(int64_t now_us, uint64_t now_ns) {
  // 1. The checkpoint.
  bool have_state = false;
  v1::SpoolState state;
  auto state_bytes = ReadFile(options_.dir + "/" + kStateName);
  if (state_bytes.ok()) {
    Framed f = DecodeAt(state_bytes.value(), 0);
    v1::SpoolState st;
    if (f.state == RecordState::kTruncated || f.state == RecordState::kBadLength ||
        f.state == RecordState::kBadCrc ||
        !st.ParseFromArray(state_bytes.value().data() + kHeaderBytes,
                           static_cast<int>(f.end - kHeaderBytes)) ||
        st.epoch() == 0) {
      Warn("checkpoint " + options_.dir + "/state is corrupt; rebuilding it from the segments");
    } else {
      state = std::move(st);
      have_state = true;
    }
  } else if (state_bytes.status().code() != Status::Code::kNotFound) {
    return state_bytes.status();
  }

  // 2. The segments, in seq order.
  {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(options_.dir.c_str()), ::closedir);
    if (!dir) return Status::IoError(Errno("cannot list " + options_.dir));
    while (dirent* de = ::readdir(dir.get())) {
      const std::string_view name = de->d_name;
      if (name.size() != kSegPrefix.size() + 20 + kSegSuffix.size() ||
          name.substr(0, kSegPrefix.size()) != kSegPrefix ||
          name.substr(name.size() - kSegSuffix.size()) != kSegSuffix) {
        continue;
      }
      Segment seg;
      seg.first_seq =
          std::strtoull(std::string(name.substr(kSegPrefix.size(), 20)).c_str(), nullptr, 10);
      seg.path = options_.dir + "/" + std::string(name);
      segments_.push_back(std::move(seg));
    }
  }
  std::sort(segments_.begin(), segments_.end(),
            [](const Segment& a, const Segment& b) { return a.first_seq < b.first_seq; });

  const uint64_t state_seq = have_state ? state.last_seq() : 0;
  std::vector<SpoolEntry> after;
  LastRecords last_records;
  uint64_t max_record_seq = 0;
  for (size_t i = 0; i < segments_.size(); ++i) {
    Status s =
        ScanSegment(&segments_[i], i + 1 == segments_.size(), &after, state_seq, &last_records);
    if (!s.ok()) return s;
    max_record_seq = std::max(max_record_seq, segments_[i].last_seq);
    total_bytes_ += segments_[i].size;
  }

  if (!have_state && segments_.empty()) {
    // A new spool.
    created_ = true;
    epoch_ = now_ns;
    head_mac_.assign(kMacBytes, '\0');
    return WriteCheckpoint();
  }

  if (have_state) {
    epoch_ = state.epoch();
    last_seq_ = state.last_seq();
    head_mac_ = state.head_mac();
    head_key_id_ = state.key_id();
    acked_seq_ = state.acked_seq();
    for (const auto& p : state.positions()) {
      positions_.push_back(
          {p.input(), p.path(), p.dev(), p.ino(), p.offset(), p.tail(), p.cursor()});
    }
  }
  if (head_mac_.size() != kMacBytes) head_mac_.assign(kMacBytes, '\0');

  // 3. Roll forward over records the checkpoint does not know yet.
  std::sort(after.begin(), after.end(),
            [](const SpoolEntry& a, const SpoolEntry& b) { return a.seq < b.seq; });
  for (const auto& e : after) {
    uint32_t pen = 0;
    ChainLink link;
    if (!ChainOfMessage(e.message, now_us, &pen, &link)) {
      Warn("record " + std::to_string(e.seq) + " carries no readable chain element");
      continue;
    }
    if (epoch_ == 0) epoch_ = link.epoch;
    if (link.epoch != epoch_ || link.seq != e.seq) {
      Warn("record " + std::to_string(e.seq) + " names epoch " + std::to_string(link.epoch) +
           " seq " + std::to_string(link.seq) + "; the spool's epoch is " + std::to_string(epoch_));
    }
    last_seq_ = e.seq;
    head_mac_ = link.mac;
    head_key_id_ = e.key_id;
    if (e.file_ino != 0 || e.file_dev != 0) {
      SetPosition(&positions_, e.input, e.file_dev, e.file_ino, e.offset_end);
    } else if (!e.cursor.empty()) {
      SetCursor(&positions_, e.input, e.cursor);
    }
  }
  if (!after.empty()) {
    spdlog::info("spool {}: rolled forward over {} record(s) after the checkpoint (seq {}..{})",
                 options_.dir, after.size(), after.front().seq, after.back().seq);
  }
  if (epoch_ == 0) {
    // Segments but no checkpoint and no readable record: start a new epoch
    // rather than guess; the old records are still sent.
    Warn("no checkpoint and no readable record: starting a new epoch");
    created_ = true;
    epoch_ = now_ns;
  }
  if (have_state && max_record_seq < state_seq && state_seq > acked_seq_) {
    truncated_head_seq_ = state_seq;
    truncated_head_mac_ = state.head_mac();
    // Read the deleted records' lines again where their files tell us where.
    for (auto& p : positions_) {
      auto it = last_records.find({p.input, p.dev, p.ino});
      if (it != last_records.end() && !p.cursor.empty() && it->second.cursor != p.cursor) {
        Warn("input " + p.input + ": the journal goes back to the cursor of its last surviving " +
             "record (seq " + std::to_string(it->second.seq) +
             "): the deleted records' entries are read again");
        p.cursor = it->second.cursor;
        continue;
      }
      if (it != last_records.end() && it->second.offset_end < p.offset) {
        Warn("input " + p.input + ": " + p.path + " goes back from offset " +
             std::to_string(p.offset) + " to " + std::to_string(it->second.offset_end) +
             ", after its last surviving record (seq " + std::to_string(it->second.seq) +
             "): the deleted records' lines are read again");
        p.offset = it->second.offset_end;
        p.tail.clear();
      }
    }
    Warn("the spool's records end at seq " + std::to_string(max_record_seq) +
         " but the checkpoint's head is seq " + std::to_string(state_seq) +
         ": the newest spooled events were DELETED; continuing at seq " +
         std::to_string(state_seq + 1) + " (the collector sees the truncated tail)");
  }
  last_seq_ = std::max(last_seq_, max_record_seq);
  // A segment's name claims the seqs from its first one on. When none of a
  // segment's records can be read (corrupt, and the checkpoint lost too),
  // the seqs before would be handed out again, and the next new segment
  // would be given the name that exists: every Append failed and the agent
  // paused its inputs for good. Continue after the claimed seq instead; the
  // collector sees the lost records as a gap.
  for (const Segment& seg : segments_) {
    if (seg.size != 0 && seg.first_seq > last_seq_) {
      Warn("segment " + seg.path + " holds no readable record of its seqs; continuing at seq " +
           std::to_string(seg.first_seq + 1) + " (seqs never go back)");
      last_seq_ = seg.first_seq;
    }
  }

  // 4. Append to the last segment while it has room.
  if (!segments_.empty() && segments_.back().size < options_.segment_bytes) {
    Segment& seg = segments_.back();
    active_fd_.Reset(::open(seg.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    if (!active_fd_.valid()) return Status::IoError(Errno("open " + seg.path));
  }
  return WriteCheckpoint();
}

Status Spool::WriteCheckpoint() {
  v1::SpoolState st;
  st.set_epoch(epoch_);
  st.set_last_seq(last_seq_);
  st.set_head_mac(head_mac_);
  st.set_key_id(head_key_id_);
  st.set_acked_seq(acked_seq_);
  for (const auto& p : positions_) {
    auto* out = st.add_positions();
    out->set_input(p.input);
    out->set_path(p.path);
    out->set_dev(p.dev);
    out->set_ino(p.ino);
    out->set_offset(p.offset);
    out->set_tail(p.tail);
    if (!p.cursor.empty()) out->set_cursor(p.cursor);
  }
  std::string framed;
  AppendFramedRecord(st.SerializeAsString(), &framed);
  const std::string tmp = options_.dir + "/" + kStateTmpName;
  const std::string final_path = options_.dir + "/" + kStateName;
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) return Status::IoError(Errno("open " + tmp));
    Status s = WriteAll(fd.get(), framed);
    if (!s.ok()) return s;
    if (::fsync(fd.get()) != 0) return Status::IoError(Errno("fsync " + tmp));
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    return Status::IoError(Errno("rename " + tmp));
  }
  return FsyncDir(options_.dir);
}

Status Spool::OpenActive(uint64_t first_seq) {
  Segment seg;
  seg.first_seq = first_seq;
  seg.path = SegmentPath(first_seq);
  // A known segment of that name that holds no record (left by a failed
  // append whose truncation failed too, or found empty by recovery) is taken
  // over and emptied: creating it anew failed with EEXIST on every retry,
  // and the agent paused its inputs for good (found by spool_fuzz). A file
  // nobody knows is never clobbered.
  const auto known = std::find_if(segments_.begin(), segments_.end(), [&](const Segment& s) {
    return s.first_seq == first_seq && s.size == 0;
  });
  const int flags = known != segments_.end() ? O_TRUNC : O_EXCL;
  UniqueFd fd(::open(seg.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | flags, 0600));
  if (!fd.valid()) return Status::IoError(Errno("create " + seg.path));
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

Status Spool::Append(const std::vector<SpoolEntry>& entries, const std::string& head_mac,
                     const std::vector<FilePosition>& positions) {
  if (!entries.empty()) {
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].seq != last_seq_ + 1 + i) {
        return Status::InvalidArgument("spool append out of sequence: got seq " +
                                       std::to_string(entries[i].seq) + ", expected " +
                                       std::to_string(last_seq_ + 1 + i));
      }
    }
    if (!active_fd_.valid() || segments_.back().size >= options_.segment_bytes) {
      active_fd_.Reset();
      Status s = OpenActive(entries.front().seq);
      if (!s.ok()) return s;
    }
    std::string buf;
    v1::SpoolRecord rec;
    std::string payload;
    for (const auto& e : entries) {
      rec.set_seq(e.seq);
      rec.set_input(e.input);
      rec.set_file_dev(e.file_dev);
      rec.set_file_ino(e.file_ino);
      rec.set_offset_end(e.offset_end);
      rec.set_message(e.message);
      rec.set_cursor(e.cursor);
      rec.set_key_id(e.key_id);
      payload.clear();
      rec.SerializeToString(&payload);
      AppendFramedRecord(payload, &buf);
    }
    Segment& seg = segments_.back();
    Status s = WriteAll(active_fd_.get(), buf);
    if (s.ok() && ::fdatasync(active_fd_.get()) != 0) s = Status::IoError(Errno("fdatasync"));
    if (!s.ok()) {
      // Leave nothing of the batch behind.
      if (::ftruncate(active_fd_.get(), static_cast<off_t>(seg.size)) != 0) {
        active_fd_.Reset();  // the next append starts a new segment
      }
      return Status::IoError("spool append to " + seg.path + " failed: " + s.message());
    }
    seg.size += buf.size();
    seg.last_seq = entries.back().seq;
    total_bytes_ += buf.size();
    last_seq_ = entries.back().seq;
    head_mac_ = head_mac;
    head_key_id_ = entries.back().key_id;
  }
  positions_ = positions;
  Status s = WriteCheckpoint();
  if (!s.ok()) {
    // The records are durable; Open() rolls forward over them.
    spdlog::error("spool {}: checkpoint not written ({}); recovery will roll forward", options_.dir,
                  s.message());
  }
  return Status::Ok();
}

Status Spool::Read(uint64_t from_seq, size_t max_bytes, std::vector<SpooledMessage>* out) {
  size_t bytes = 0;
  // Start at the cursor if it is where we are asked to go, else at the start
  // of the segment that holds from_seq.
  size_t seg_index = 0;
  uint64_t offset = 0;
  bool found = false;
  if (cursor_seq_ != 0 && cursor_seq_ == from_seq) {
    for (size_t i = 0; i < segments_.size(); ++i) {
      if (segments_[i].first_seq == cursor_segment_) {
        seg_index = i;
        offset = cursor_offset_;
        found = true;
        break;
      }
    }
  }
  if (!found) {
    for (size_t i = 0; i < segments_.size(); ++i) {
      if (segments_[i].first_seq <= from_seq) seg_index = i;
    }
  }
  for (; seg_index < segments_.size(); ++seg_index, offset = 0) {
    const Segment& seg = segments_[seg_index];
    if (offset >= seg.size) continue;
    UniqueFd fd(::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return Status::IoError(Errno("open " + seg.path));
    std::string chunk;
    uint64_t chunk_start = offset;
    while (offset < seg.size) {
      // Keep [offset, ...) in chunk; read more when a record does not fit.
      const size_t have = static_cast<size_t>(chunk_start + chunk.size() - offset);
      Framed f;
      if (have >= kHeaderBytes) f = DecodeAt(chunk, static_cast<size_t>(offset - chunk_start));
      if (have < kHeaderBytes || f.state == RecordState::kTruncated) {
        if (chunk_start + chunk.size() >= seg.size) {
          Warn("segment " + seg.path + " ends in an incomplete record at " +
               std::to_string(offset));
          break;
        }
        chunk.erase(0, static_cast<size_t>(offset - chunk_start));
        chunk_start = offset;
        const size_t want = std::max<size_t>(1 << 20, kHeaderBytes + kMaxSpoolRecordBytes / 16);
        const size_t old = chunk.size();
        const uint64_t left = seg.size - (chunk_start + old);
        chunk.resize(old + static_cast<size_t>(std::min<uint64_t>(want, left)));
        const ssize_t n = ::pread(fd.get(), chunk.data() + old, chunk.size() - old,
                                  static_cast<off_t>(chunk_start + old));
        if (n <= 0) return Status::IoError(Errno("read " + seg.path));
        chunk.resize(old + static_cast<size_t>(n));
        continue;
      }
      if (f.state == RecordState::kBadLength) {
        Warn("segment " + seg.path + " has a bad record length at " + std::to_string(offset) +
             "; skipping the rest of it");
        break;
      }
      const uint64_t rec_offset = offset;
      offset = chunk_start + f.end;
      if (f.state != RecordState::kOk) {
        Warn("corrupt record in " + seg.path + " at offset " + std::to_string(rec_offset) + " (" +
             Describe(f.state) + "): skipped");
        continue;
      }
      if (f.record.seq() < from_seq) continue;
      if (!out->empty() && bytes + f.record.message().size() > max_bytes) {
        cursor_seq_ = f.record.seq();
        cursor_segment_ = seg.first_seq;
        cursor_offset_ = rec_offset;
        return Status::Ok();
      }
      bytes += f.record.message().size();
      out->push_back({f.record.seq(), std::move(*f.record.mutable_message())});
    }
  }
  // Caught up: the next record will be appended at the end.
  cursor_seq_ = out->empty() ? 0 : out->back().seq + 1;
  if (!segments_.empty()) {
    cursor_segment_ = segments_.back().first_seq;
    cursor_offset_ = segments_.back().size;
  }
  return Status::Ok();
}

Status Spool::Acknowledge(uint64_t seq) {
  if (seq <= acked_seq_) return Status::Ok();
  acked_seq_ = std::min(seq, last_seq_);
  // A segment is done when nothing in it is newer than acked_seq_: for all
  // but the last, the next segment's first seq bounds it.
  std::vector<size_t> done;
  for (size_t i = 0; i < segments_.size(); ++i) {
    const uint64_t bound = i + 1 < segments_.size()
                               ? std::max(segments_[i].last_seq, segments_[i + 1].first_seq - 1)
                               : segments_[i].last_seq;
    if (bound <= acked_seq_) done.push_back(i);
  }
  if (done.empty()) return Status::Ok();
  Status s = WriteCheckpoint();
  if (!s.ok()) {
    spdlog::warn("spool {}: checkpoint not written before deleting acknowledged segments ({})",
                 options_.dir, s.message());
  }
  for (auto it = done.rbegin(); it != done.rend(); ++it) {
    const Segment& seg = segments_[*it];
    if (*it + 1 == segments_.size()) active_fd_.Reset();
    if (::unlink(seg.path.c_str()) != 0 && errno != ENOENT) {
      return Status::IoError(Errno("unlink " + seg.path));
    }
    total_bytes_ -= seg.size;
    spdlog::debug("spool: deleted acknowledged segment {}", seg.path);
    segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(*it));
  }
  if (!s.ok()) s = WriteCheckpoint();  // there may be room now
  return Status::Ok();
}

}  // namespace trailkeep::agent
