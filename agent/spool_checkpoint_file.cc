#include "agent/spool_checkpoint_file.h"

#include <algorithm>
#include <cerrno>

#include <fcntl.h>
#include <unistd.h>

#include "agent/posix_file.h"
#include "agent/spool_layout.h"

namespace trailkeep::agent {
namespace {

constexpr size_t kMinSlotBytes = 4096;

Status PwriteAll(int fd, std::string_view data, uint64_t offset) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(ErrnoMessage("pwrite"));
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

}  // namespace

size_t CheckpointSlotBytes(size_t frame_bytes) {
  size_t slot = kMinSlotBytes;
  while (slot < 2 * frame_bytes) slot *= 2;
  return slot;
}

std::string EncodeCheckpointFile(const SpoolCheckpoint& checkpoint, size_t slot_bytes) {
  std::string data = EncodeCheckpoint(checkpoint);
  data.resize(2 * slot_bytes, '\0');
  return data;
}

std::optional<SpoolCheckpoint> DecodeCheckpointFile(std::string_view data) {
  std::optional<SpoolCheckpoint> best = DecodeCheckpoint(data);
  if (data.size() >= 2 * kMinSlotBytes && data.size() % 2 == 0) {
    std::optional<SpoolCheckpoint> other = DecodeCheckpoint(data.substr(data.size() / 2));
    if (other && (!best || other->generation > best->generation)) best = std::move(other);
  }
  return best;
}

Result<CheckpointFile> CheckpointFile::Create(const std::string& dir,
                                              const SpoolCheckpoint& checkpoint) {
  const size_t slot_bytes = CheckpointSlotBytes(EncodeCheckpoint(checkpoint).size());
  Status s = ReplaceFile(dir, kCheckpointName, kCheckpointTmpName,
                         EncodeCheckpointFile(checkpoint, slot_bytes));
  if (!s.ok()) return s;
  const std::string path = dir + "/" + kCheckpointName;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::IoError(ErrnoMessage("open " + path));
  return CheckpointFile(dir, std::move(fd), slot_bytes);
}

Status CheckpointFile::Write(const SpoolCheckpoint& checkpoint, bool sync) {
  const std::string frame = EncodeCheckpoint(checkpoint);
  if (frame.size() > slot_bytes_) {
    auto bigger = Create(dir_, checkpoint);
    if (!bigger.ok()) return bigger.status();
    *this = std::move(bigger).value();
    return Status::Ok();
  }
  Status s = PwriteAll(fd_.get(), frame, next_slot_ * slot_bytes_);
  if (!s.ok()) return Status::IoError("checkpoint " + dir_ + "/state: " + s.message());
  unsynced_ = true;
  next_slot_ ^= 1;
  return sync ? Sync() : Status::Ok();
}

Status CheckpointFile::Sync() {
  if (!unsynced_) return Status::Ok();
  if (::fdatasync(fd_.get()) != 0)
    return Status::IoError(ErrnoMessage("fdatasync " + dir_ + "/state"));
  unsynced_ = false;
  return Status::Ok();
}

}  // namespace trailkeep::agent
