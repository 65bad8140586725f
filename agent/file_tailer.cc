#include "agent/file_tailer.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

namespace trailkeep::agent {
namespace {

bool IsCompressed(const std::string& path) {
  for (const char* ext : {".gz", ".xz", ".bz2", ".zst", ".lz4", ".Z"}) {
    const size_t n = std::strlen(ext);
    if (path.size() > n && path.compare(path.size() - n, n, ext) == 0) return true;
  }
  return false;
}

struct Found {
  std::string path;
  uint64_t dev = 0, ino = 0, size = 0;
};

}  // namespace

FileTailer::FileTailer(InputConfig config, std::vector<FilePosition> saved, bool first_start,
                       ClockPtr clock)
    : config_(std::move(config)),
      saved_(std::move(saved)),
      clock_(std::move(clock)),
      first_start_(first_start) {}

FileTailer::~FileTailer() = default;

void FileTailer::Track(const std::string& path, uint64_t dev, uint64_t ino, uint64_t offset,
                       const std::string& tail, bool draining) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    if (warned_.insert(path).second) {
      spdlog::warn("input {}: cannot open {}: {} (will retry)", config_.name, path,
                   std::strerror(errno));
    }
    return;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || static_cast<uint64_t>(st.st_dev) != dev ||
      static_cast<uint64_t>(st.st_ino) != ino) {
    return;  // replaced between stat and open: the next poll sees the new file
  }
  warned_.erase(path);
  if (static_cast<uint64_t>(st.st_size) < offset) {
    spdlog::warn(
        "input {}: {} is shorter ({} bytes) than its saved position {}: truncated while "
        "the agent was down, reading it from the start",
        config_.name, path, st.st_size, offset);
    offset = 0;
  }
  auto t = std::make_unique<Tracked>();
  t->path = path;
  t->dev = dev;
  t->ino = ino;
  t->fd = std::move(fd);
  t->offset = offset;
  t->draining = draining;
  if (offset > 0 && !tail.empty()) {
    t->tail = tail;
    if (Rewritten(t.get())) {
      spdlog::warn(
          "input {}: {} was rewritten while the agent was down (the bytes before its "
          "saved position changed): reading it from the start",
          config_.name, path);
      t->offset = 0;
      t->tail.clear();
    }
  } else if (offset > 0) {
    // Unknown: take what the file holds now.
    const size_t n = static_cast<size_t>(std::min<uint64_t>(offset, kTailBytes));
    t->tail.resize(n);
    if (::pread(t->fd.get(), t->tail.data(), n, static_cast<off_t>(offset - n)) !=
        static_cast<ssize_t>(n)) {
      t->tail.clear();
    }
  }
  offset = t->offset;
  spdlog::info("input {}: following {} from offset {}{}", config_.name, path, offset,
               draining ? " (rotated away: reading it to its end)" : "");
  files_.push_back(std::move(t));
}

void FileTailer::FindRotatedAway(const FilePosition& saved) {
  const std::string& of = saved.path.empty() ? config_.path : saved.path;
  const size_t slash = of.rfind('/');
  const std::string dir = slash == std::string::npos ? std::string(".")
                          : slash == 0               ? std::string("/")
                                                     : of.substr(0, slash);
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (d) {
    while (dirent* de = ::readdir(d.get())) {
      std::string path = dir;
      path.push_back('/');
      path.append(de->d_name);
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (static_cast<uint64_t>(st.st_dev) == saved.dev &&
          static_cast<uint64_t>(st.st_ino) == saved.ino) {
        spdlog::info("input {}: {} was rotated to {} while the agent was down", config_.name,
                     saved.path, path);
        Track(path, saved.dev, saved.ino, saved.offset, saved.tail, true);
        return;
      }
    }
  }
  spdlog::warn(
      "input {}: {} (inode {}) was rotated away or deleted while the agent was down and "
      "is not in {}: lines written to it after offset {} cannot be read",
      config_.name, saved.path, saved.ino, dir, saved.offset);
}

void FileTailer::FindUnseenPredecessor(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d || first_scan_ns_ == 0) return;
  std::string best;
  struct stat best_st {};
  int64_t best_ctime = first_scan_ns_;
  while (dirent* de = ::readdir(d.get())) {
    const std::string name = de->d_name;
    if (name.size() <= base.size() + 1 || name.compare(0, base.size(), base) != 0) continue;
    const char sep = name[base.size()];
    if (sep != '.' && sep != '-' && sep != '_') continue;
    std::string candidate = dir;
    if (slash == std::string::npos) candidate.clear();
    candidate.append(name);
    if (IsCompressed(candidate)) continue;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const int64_t ctime = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
    // The most recent rename wins; on a tie (coarse clocks), path.1 over path.2.
    if (ctime < best_ctime || (ctime == best_ctime && !best.empty() && candidate > best)) continue;
    bool tracked = false;
    for (const auto& t : files_) {
      tracked |=
          t->dev == static_cast<uint64_t>(st.st_dev) && t->ino == static_cast<uint64_t>(st.st_ino);
    }
    if (tracked) continue;
    best = candidate;
    best_st = st;
    best_ctime = ctime;
  }
  if (best.empty()) return;
  spdlog::info(
      "input {}: {} appeared and {} was renamed since the last poll: reading {} from the "
      "start first (its file was rotated before it could be followed)",
      config_.name, path, best, best);
  Track(best, static_cast<uint64_t>(best_st.st_dev), static_cast<uint64_t>(best_st.st_ino), 0, "",
        true);
}

void FileTailer::Scan() {
  // Microseconds are fine enough: the first scan is dated 20 ms early.
  const int64_t scan_ns = clock_->NowMicros() * 1000;
  std::vector<Found> found;
  glob_t g{};
  const int rc = ::glob(config_.path.c_str(), 0, nullptr, &g);
  if (rc == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      const std::string path = g.gl_pathv[i];
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (IsCompressed(path) && path != config_.path) {
        if (warned_.insert(path).second) {
          spdlog::info("input {}: skipping compressed file {}", config_.name, path);
        }
        continue;
      }
      found.push_back({path, static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                       static_cast<uint64_t>(st.st_size)});
    }
  }
  ::globfree(&g);

  auto tracked = [&](uint64_t dev, uint64_t ino) -> Tracked* {
    for (auto& t : files_) {
      if (t->dev == dev && t->ino == ino) return t.get();
    }
    return nullptr;
  };

  if (first_poll_) {
    first_poll_ = false;
    std::vector<bool> used(saved_.size(), false);
    for (const auto& f : found) {
      bool matched = false;
      for (size_t i = 0; i < saved_.size(); ++i) {
        if (!used[i] && saved_[i].dev == f.dev && saved_[i].ino == f.ino) {
          used[i] = matched = true;
          Track(f.path, f.dev, f.ino, saved_[i].offset, saved_[i].tail, false);
          break;
        }
      }
      if (!matched) {
        Track(f.path, f.dev, f.ino, first_start_ && config_.start_at_end ? f.size : 0, "", false);
      }
    }
    for (size_t i = 0; i < saved_.size(); ++i) {
      if (!used[i] && tracked(saved_[i].dev, saved_[i].ino) == nullptr) {
        FindRotatedAway(saved_[i]);
      }
    }
    saved_.clear();
  } else {
    for (const auto& f : found) {
      if (Tracked* t = tracked(f.dev, f.ino)) {
        if (t->path != f.path) {
          spdlog::info("input {}: {} is now {}", config_.name, t->path, f.path);
          t->path = f.path;
        }
        t->draining = false;
      } else {
        if (seen_paths_.count(f.path) == 0) FindUnseenPredecessor(f.path);
        Track(f.path, f.dev, f.ino, 0, "", false);
      }
    }
  }
  for (const auto& t : files_) seen_paths_.insert(t->path);
  for (auto& t : files_) {
    if (t->draining) continue;
    const bool present = std::any_of(found.begin(), found.end(), [&](const Found& f) {
      return f.dev == t->dev && f.ino == t->ino;
    });
    if (!present) {
      spdlog::info("input {}: {} was rotated or deleted; reading it to its end", config_.name,
                   t->path);
      t->draining = true;
      t->idle_polls = 0;
    }
  }
  // Coarse file timestamps lag the clock by up to a tick: keep some slack.
  if (first_scan_ns_ == 0) first_scan_ns_ = scan_ns - 20 * 1000000;
}

void FileTailer::Emit(Tracked* t, size_t len, size_t skip, std::vector<TailedLine>* lines) {
  TailedLine line;
  line.text = t->pending.substr(0, len);
  t->tail.append(t->pending, 0, len + skip);
  if (t->tail.size() > kTailBytes) t->tail.erase(0, t->tail.size() - kTailBytes);
  t->pending.erase(0, len + skip);
  t->offset += len + skip;
  line.dev = t->dev;
  line.ino = t->ino;
  line.offset_end = t->offset;
  lines->push_back(std::move(line));
}

bool FileTailer::Rewritten(Tracked* t) {
  if (t->tail.empty() || t->offset < t->tail.size()) return false;
  std::string now(t->tail.size(), '\0');
  const ssize_t n =
      ::pread(t->fd.get(), now.data(), now.size(), static_cast<off_t>(t->offset - t->tail.size()));
  return n != static_cast<ssize_t>(now.size()) || now != t->tail;
}

void FileTailer::RestartAtZero(Tracked* t, const char* why, std::vector<TailedLine>* lines,
                               size_t* spent, size_t per_line) {
  // Bytes read before the truncation are still a line: never skip.
  if (!t->pending.empty()) {
    *spent += t->pending.size() + per_line;
    Emit(t, t->pending.size(), 0, lines);
  }
  spdlog::info("input {}: {} {}; reading it from the start", config_.name, t->path, why);
  t->offset = 0;
  t->pending.clear();
  t->tail.clear();
}

size_t FileTailer::ReadLines(Tracked* t, size_t budget, size_t per_line,
                             std::vector<TailedLine>* lines) {
  struct stat st {};
  if (::fstat(t->fd.get(), &st) != 0) return 0;
  size_t spent = 0;
  if (static_cast<uint64_t>(st.st_size) < t->offset + t->pending.size()) {
    RestartAtZero(t, "was truncated (copy-truncate rotation?)", lines, &spent, per_line);
  } else if (Rewritten(t)) {
    RestartAtZero(t, "was truncated and rewritten (copy-truncate rotation?)", lines, &spent,
                  per_line);
  }
  uint64_t read_at = t->offset + t->pending.size();
  bool got_data = false;
  char buf[64 * 1024];
  for (;;) {
    // Lines already read first; what is left stays pending for the next poll.
    while (spent < budget) {
      const size_t nl = t->pending.find('\n');
      size_t len = 0, skip = 0;
      if (nl == std::string::npos) {
        if (t->pending.size() < kMaxLineBytes) break;
        len = kMaxLineBytes;
      } else if (nl > kMaxLineBytes) {
        len = kMaxLineBytes;
      } else {
        len = nl;
        skip = 1;
      }
      Emit(t, len, skip, lines);
      spent += len + skip + per_line;
      got_data = true;
    }
    if (spent >= budget) break;
    const ssize_t n = ::pread(t->fd.get(), buf, sizeof buf, static_cast<off_t>(read_at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got_data = true;
    read_at += static_cast<uint64_t>(n);
    t->pending.append(buf, static_cast<size_t>(n));
  }
  t->idle_polls = got_data ? 0 : t->idle_polls + 1;
  return spent;
}

void FileTailer::Poll(size_t max_bytes, size_t per_line, std::vector<TailedLine>* lines) {
  Scan();
  // Rotated-away files first, then the least recently modified: an older
  // rotated sibling (secure.1) is read before the file that replaced it.
  std::vector<std::pair<int64_t, Tracked*>> order;
  for (auto& t : files_) {
    struct stat st {};
    int64_t mtime = 0;
    if (::fstat(t->fd.get(), &st) == 0) {
      mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    }
    order.emplace_back(t->draining ? INT64_MIN : mtime, t.get());
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t used = 0;
  for (auto& [key, t] : order) {
    if (used >= max_bytes) return;
    used += ReadLines(t, max_bytes - used, per_line, lines);
  }
  // Close drained files that stayed idle; a last line without LF is theirs.
  for (auto it = files_.begin(); it != files_.end();) {
    Tracked* t = it->get();
    if (t->draining && t->idle_polls >= kDrainIdlePolls) {
      if (!t->pending.empty()) Emit(t, t->pending.size(), 0, lines);
      spdlog::info("input {}: finished {} (offset {})", config_.name, t->path, t->offset);
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
}

void FileTailer::AppendPositions(std::vector<FilePosition>* out) const {
  for (const auto& t : files_) {
    out->push_back({config_.name, t->path, t->dev, t->ino, t->offset, t->tail, ""});
  }
}

}  // namespace trailkeep::agent
