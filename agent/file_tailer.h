// FileTailer: one [[input]]'s files, followed like `tail -F`, by polling.
//
// Each Poll() expands the input's path (a glob: files that appear later are
// picked up), then reads complete LF-terminated lines from every tracked
// file. Files are tracked by (dev, ino), so:
//   - rotation by rename: the path now names another inode; the old file
//     (still open) is read to EOF and closed once it stayed idle for a few
//     polls; the new file is read from offset 0;
//   - copy-truncate: a file shorter than our offset, or whose bytes just
//     before our offset changed (truncated and rewritten to the same length
//     or longer between two polls), is read again from 0;
//   - a file first seen after start-up is new: read from 0.
// start = "end" applies only to files present at the first start of a new
// spool (`first_start`), which have no saved position.
// A file created and rotated between two polls (never seen under the path):
// when a path appears that was never followed, the sibling named path.N /
// path-SUFFIX most recently renamed or written (ctime) since the tailer
// started, and not followed, is taken as that predecessor and read from 0
// first. (One that came and went before the first poll cannot be known.)
// Restart: a file whose (dev, ino) matches a saved position resumes there.
// A saved file no longer matched by the glob (rotated while the agent was
// down) is looked for among the files of its directory (secure.1, ...) and
// read to EOF from its saved offset; if it is gone, a warning says so. So
// nothing already spooled is read twice, and nothing is skipped that can
// still be found.
//
// Lines are at most kMaxLineBytes (longer ones are split, no byte lost); a
// trailing CR is kept for the message builder to drop. A last line without
// LF is only emitted when its file is closed after rotation or deletion.
// The positions a Poll() reports are those after its last returned line:
// the caller persists them with the spooled lines.
//
// Not thread-safe: one owner thread. Logs with spdlog.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/agent_config.h"
#include "agent/file_position.h"
#include "agent/unique_fd.h"
#include "common/base/clock.h"

namespace trailkeep::agent {

inline constexpr size_t kMaxLineBytes = 64 * 1024;

struct TailedLine {
  std::string text;  // without LF
  uint64_t dev = 0, ino = 0, offset_end = 0;
};

class FileTailer {
 public:
  // `saved`: this input's positions from the spool's checkpoint. `clock`
  // dates the first scan, compared with the files' ctimes: it must be the
  // wall clock the file system stamps them with (tests keep the default).
  FileTailer(InputConfig config, std::vector<FilePosition> saved, bool first_start,
             ClockPtr clock = MakeSystemClock());
  ~FileTailer();

  // Appends lines to *lines until they cost `max_bytes`, each line costing
  // its length plus `per_line` (the caller's estimate of its overhead once
  // spooled); lines beyond that are left for the next poll.
  void Poll(size_t max_bytes, size_t per_line, std::vector<TailedLine>* lines);

  // The position of every tracked file after the last line returned.
  void AppendPositions(std::vector<FilePosition>* out) const;

  const InputConfig& config() const { return config_; }
  size_t tracked_files() const { return files_.size(); }

  // Polls with no new data before a rotated-away or deleted file is closed.
  static constexpr int kDrainIdlePolls = 5;

 private:
  struct Tracked {
    std::string path;
    uint64_t dev = 0, ino = 0;
    UniqueFd fd;
    uint64_t offset = 0;    // bytes before it are returned as lines
    std::string pending;    // bytes after offset read but not yet a line
    std::string tail;       // the last kTailBytes bytes before offset
    bool draining = false;  // no longer named by the glob: read to EOF, then close
    int idle_polls = 0;
  };

  void Scan();
  void Track(const std::string& path, uint64_t dev, uint64_t ino, uint64_t offset,
             const std::string& tail, bool draining);
  // True when the bytes before t->offset are no longer t->tail.
  bool Rewritten(Tracked* t);
  void FindRotatedAway(const FilePosition& saved);
  // A path appeared that was never followed: was its predecessor renamed
  // away (path.1, path-DATE) since we started, before we could see it?
  void FindUnseenPredecessor(const std::string& path);
  void RestartAtZero(Tracked* t, const char* why, std::vector<TailedLine>* lines, size_t* spent,
                     size_t per_line);
  // Reads lines from one file; returns what they cost.
  size_t ReadLines(Tracked* t, size_t budget, size_t per_line, std::vector<TailedLine>* lines);
  void Emit(Tracked* t, size_t len, size_t skip, std::vector<TailedLine>* lines);

  InputConfig config_;
  std::vector<FilePosition> saved_;
  ClockPtr clock_;
  bool first_start_;
  bool first_poll_ = true;
  std::vector<std::unique_ptr<Tracked>> files_;
  std::set<std::string> warned_;
  std::set<std::string> seen_paths_;  // paths a tracked file was found under
  int64_t first_scan_ns_ = 0;         // wall clock of the first Scan()
};

}  // namespace trailkeep::agent
