#include "agent/journal_reader.h"

#include <cstdlib>
#include <cstring>
#include <string_view>

#include <spdlog/spdlog.h>
#include <systemd/sd-journal.h>

#include "agent/journal_fields.h"
#include "agent/journal_loss.h"

namespace trailkeep::agent {
namespace {

// A MESSAGE (or any field) longer than this is cut: the same bound as a
// file input's line (file_tailer.h), and below the collector's frame limit.
constexpr size_t kMaxFieldBytes = 64 * 1024;

std::string Errno(int r) { return std::strerror(r < 0 ? -r : r); }

struct JournalCloser {
  void operator()(sd_journal* j) const { sd_journal_close(j); }
};

// The cursor of the entry `j` is positioned on; "" when it has none.
std::string CursorOf(sd_journal* j) {
  char* c = nullptr;
  if (sd_journal_get_cursor(j, &c) < 0 || c == nullptr) return "";
  std::string out(c);
  std::free(c);
  return out;
}

}  // namespace

JournalReader::JournalReader(InputConfig config, uint32_t enterprise_number)
    : config_(std::move(config)), enterprise_number_(enterprise_number) {}

JournalReader::~JournalReader() {
  if (j_ != nullptr) sd_journal_close(j_);
}

Status JournalReader::OpenJournal(sd_journal** j) const {
  const int r = config_.journal_dir.empty()
                    ? sd_journal_open(j, SD_JOURNAL_LOCAL_ONLY)
                    : sd_journal_open_directory(j, config_.journal_dir.c_str(), 0);
  if (r < 0) {
    return Status::IoError("input " + config_.name + ": cannot open the journal" +
                           (config_.journal_dir.empty() ? "" : " in " + config_.journal_dir) +
                           ": " + Errno(r));
  }
  sd_journal_set_data_threshold(*j, kMaxFieldBytes);
  return Status::Ok();
}

Status JournalReader::AddMatches() {
  auto add = [&](const std::string& match) -> Status {
    const int r = sd_journal_add_match(j_, match.data(), match.size());
    if (r < 0)
      return Status::InvalidArgument("input " + config_.name + ": match '" + match +
                                     "': " + Errno(r));
    return Status::Ok();
  };
  // One term: its field's values (ORed), ANDed with the priorities.
  auto term = [&](const char* field, const std::vector<std::string>& values, bool unit) -> Status {
    for (const auto& v : values) {
      Status s = add(std::string(field) + "=" + v +
                     (unit && v.find('.') == std::string::npos ? ".service" : ""));
      if (!s.ok()) return s;
    }
    for (int p = 0; config_.max_priority < 7 && p <= config_.max_priority; ++p) {
      Status s = add("PRIORITY=" + std::to_string(p));
      if (!s.ok()) return s;
    }
    return Status::Ok();
  };
  if (config_.units.empty() && config_.identifiers.empty()) return term("", {}, false);
  if (!config_.units.empty()) {
    Status s = term("_SYSTEMD_UNIT", config_.units, true);
    if (!s.ok()) return s;
  }
  if (!config_.units.empty() && !config_.identifiers.empty()) {
    const int r = sd_journal_add_disjunction(j_);
    if (r < 0) return Status::InvalidArgument("input " + config_.name + ": matches: " + Errno(r));
  }
  if (!config_.identifiers.empty()) return term("SYSLOG_IDENTIFIER", config_.identifiers, false);
  return Status::Ok();
}

std::optional<std::string> JournalReader::NextUnfiltered(const std::string& cursor) const {
  sd_journal* raw = nullptr;
  if (!OpenJournal(&raw).ok()) return std::nullopt;
  std::unique_ptr<sd_journal, JournalCloser> j(raw);
  if (sd_journal_seek_cursor(j.get(), cursor.c_str()) < 0) {
    if (sd_journal_seek_head(j.get()) < 0) return std::nullopt;
  }
  if (sd_journal_next(j.get()) <= 0) return std::nullopt;
  // The saved entry itself is there (it no longer matches the input's
  // matches): nothing was lost.
  if (sd_journal_test_cursor(j.get(), cursor.c_str()) > 0) return cursor;
  return CursorOf(j.get());
}

Status JournalReader::Position(const std::optional<FilePosition>& saved, int64_t now_us) {
  if (saved && !saved->cursor.empty()) {
    const std::string& c = saved->cursor;
    cursor_ = c;
    int r = sd_journal_seek_cursor(j_, c.c_str());
    if (r < 0) r = sd_journal_seek_head(j_);
    if (r < 0) return Status::IoError("input " + config_.name + ": seek: " + Errno(r));
    r = sd_journal_next(j_);
    if (r > 0 && sd_journal_test_cursor(j_, c.c_str()) > 0) return Status::Ok();
    current_pending_ = r > 0;
    // Not found: was anything between it and the next entry there is lost?
    const std::optional<std::string> next = NextUnfiltered(c);
    if (next && *next == c) return Status::Ok();
    if (auto loss = AssessJournalLoss(config_.name, c, next)) {
      loss_ = JournalLossParts(*loss, enterprise_number_, now_us);
      spdlog::warn("{}", loss_->msg);
    }
    return Status::Ok();
  }
  int r = 0;
  if (!saved && config_.start_at_end) {
    r = sd_journal_seek_tail(j_);
    if (r >= 0 && sd_journal_previous(j_) > 0) {
      cursor_ = CursorOf(j_);  // the newest entry counts as read
      return Status::Ok();
    }
  }
  r = sd_journal_seek_head(j_);
  if (r < 0) return Status::IoError("input " + config_.name + ": seek: " + Errno(r));
  return Status::Ok();
}

Result<std::unique_ptr<JournalReader>> JournalReader::Open(InputConfig config,
                                                           std::optional<FilePosition> saved,
                                                           uint32_t enterprise_number,
                                                           int64_t now_us) {
  std::unique_ptr<JournalReader> reader(new JournalReader(std::move(config), enterprise_number));
  Status s = reader->OpenJournal(&reader->j_);
  if (!s.ok()) return s;
  // Sets up inotify, so sd_journal_process() sees files started and deleted.
  if (const int r = sd_journal_get_fd(reader->j_); r < 0) {
    return Status::IoError("input " + reader->config_.name + ": journal fd: " + Errno(r));
  }
  s = reader->AddMatches();
  if (!s.ok()) return s;
  s = reader->Position(saved, now_us);
  if (!s.ok()) return s;
  spdlog::info("input {}: journal {}, {}", reader->config_.name,
               reader->config_.journal_dir.empty() ? "of this host" : reader->config_.journal_dir,
               reader->cursor_.empty() ? std::string("from its first entry")
                                       : "after cursor " + reader->cursor_);
  return reader;
}

bool JournalReader::ReadCurrent(JournalEntry* entry) {
  JournalFields f;
  uint64_t realtime = 0;
  if (sd_journal_get_realtime_usec(j_, &realtime) >= 0)
    f.realtime_us = static_cast<int64_t>(realtime);
  sd_journal_restart_data(j_);
  const void* data = nullptr;
  size_t len = 0;
  while (sd_journal_enumerate_available_data(j_, &data, &len) > 0) {
    f.Take(std::string_view(static_cast<const char*>(data), len));
  }
  entry->cursor = CursorOf(j_);
  if (entry->cursor.empty()) return false;
  entry->parts =
      PartsFromJournal(f, {config_.name, enterprise_number_, config_.facility, config_.severity});
  entry->bytes = entry->parts.msg.size() + entry->parts.extra_sd.size() + entry->cursor.size();
  return true;
}

void JournalReader::Poll(size_t max_bytes, size_t per_entry, std::vector<JournalEntry>* out) {
  sd_journal_process(j_);  // files started, rotated or deleted since the last poll
  size_t spent = 0;
  while (spent < max_bytes) {
    if (!current_pending_) {
      const int r = sd_journal_next(j_);
      if (r < 0 && !warned_) {
        spdlog::warn("input {}: reading the journal: {}", config_.name, Errno(r));
        warned_ = true;
      }
      if (r <= 0) break;
    }
    current_pending_ = false;
    JournalEntry e;
    if (!ReadCurrent(&e)) continue;
    warned_ = false;
    spent += e.bytes + per_entry;
    cursor_ = e.cursor;
    out->push_back(std::move(e));
  }
}

std::optional<MessageParts> JournalReader::TakeLoss() {
  std::optional<MessageParts> out = std::move(loss_);
  loss_.reset();
  return out;
}

void JournalReader::AppendPositions(std::vector<FilePosition>* out) const {
  out->push_back({config_.name, config_.journal_dir, 0, 0, 0, "", cursor_});
}

}  // namespace trailkeep::agent
