// JournalReader: one kind = "journal" [[input]], read with sd-journal.
//
// Opens the host's journal (SD_JOURNAL_LOCAL_ONLY), or every journal file in
// `journal_dir`; the matches are (any of `units` as _SYSTEMD_UNIT, a name
// without a dot taken as NAME.service; or any of `identifiers` as
// SYSLOG_IDENTIFIER), each with PRIORITY 0..`priority`. Files started or
// deleted later are followed (sd_journal_process at every poll).
//
// Where reading starts: the saved position's cursor (the input's last
// spooled entry) is looked up again; when that entry is still there, reading
// continues after it, so a restart neither repeats nor skips an entry. When
// it is gone, AssessJournalLoss (journal_loss.h) compares it with the first
// entry after it in the whole journal (unfiltered), and TakeLoss() hands the
// loss report out once; reading continues at that entry. A saved position
// without a cursor reads from the journal's head. Without a saved position
// (a new input), `start = "beginning"` reads from the head and "end" from
// after the journal's newest entry, whose cursor is the position at once.
//
// Each entry becomes one MessageParts (journal_fields.h) with its cursor;
// the caller spools both, and AppendPositions() reports the cursor after the
// last returned entry. Not thread-safe: one owner thread. Logs with spdlog.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent_config.h"
#include "agent/file_position.h"
#include "agent/message_builder.h"
#include "common/base/status.h"

struct sd_journal;

namespace trailkeep::agent {

struct JournalEntry {
  MessageParts parts;
  std::string cursor;
  size_t bytes = 0;  // what the entry costs in a batch, before overhead
};

class JournalReader {
 public:
  // `saved`: this input's position from the spool's checkpoint, if any.
  static Result<std::unique_ptr<JournalReader>> Open(InputConfig config,
                                                     std::optional<FilePosition> saved,
                                                     uint32_t enterprise_number, int64_t now_us);
  ~JournalReader();
  JournalReader(const JournalReader&) = delete;
  JournalReader& operator=(const JournalReader&) = delete;

  // Appends entries to *out until they cost `max_bytes` (each its bytes plus
  // `per_entry`); the rest is left for the next poll.
  void Poll(size_t max_bytes, size_t per_entry, std::vector<JournalEntry>* out);

  // The loss found at Open(), once; the caller spools it before the entries.
  std::optional<MessageParts> TakeLoss();

  // This input's position after the last returned entry.
  void AppendPositions(std::vector<FilePosition>* out) const;

  const InputConfig& config() const { return config_; }

 private:
  JournalReader(InputConfig config, uint32_t enterprise_number);
  Status OpenJournal(sd_journal** j) const;
  Status AddMatches();
  Status Position(const std::optional<FilePosition>& saved, int64_t now_us);
  // The first entry of the whole journal at or after `cursor` (no
  // matches): `cursor` itself when its entry is still there.
  std::optional<std::string> NextUnfiltered(const std::string& cursor) const;
  std::string CurrentCursor() const;
  bool ReadCurrent(JournalEntry* entry);

  InputConfig config_;
  uint32_t enterprise_number_;
  sd_journal* j_ = nullptr;
  std::string cursor_;            // the last returned entry's ("" = none)
  bool current_pending_ = false;  // positioned on an entry not yet returned
  std::optional<MessageParts> loss_;
  bool warned_ = false;
};

}  // namespace trailkeep::agent
