// Journal entries lost while the agent was down: found by comparing the
// saved cursor with the first entry the journal still has after it, and
// reported as an event on the agent's own chain. Pure code: no I/O.
//
// A cursor (sd_journal_get_cursor) reads "s=SEQNUM_ID;i=SEQNUM;b=BOOT_ID;
// m=MONOTONIC;t=REALTIME;x=XOR" (hex numbers). Within one SEQNUM_ID (one
// journald, across its file rotations and reboots) every entry of every
// unit takes the next SEQNUM, so when the saved entry itself is gone:
//   - the next entry still there has SEQNUM saved + 1: nothing was lost (only
//     the spooled entry was vacuumed);
//   - it has a larger SEQNUM: the entries in between were deleted (rotated
//     files vacuumed, or removed) before the agent read them;
//   - it has another SEQNUM_ID, or there is none: how many entries followed
//     the saved one in its files cannot be known; reported as a loss of an
//     unknown count.
// Losses count entries of all units: whether they matched the input's
// units/identifiers/priority cannot be known once they are gone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/message_builder.h"

namespace trailkeep::agent {

struct JournalCursor {
  std::string seqnum_id;
  uint64_t seqnum = 0;
  uint64_t realtime_us = 0;
  bool has_seqnum = false, has_realtime = false;
};

// False when `text` has neither s=/i= nor t=.
bool ParseJournalCursor(std::string_view text, JournalCursor* out);

struct JournalLoss {
  std::string input;
  std::string saved_cursor;                           // the last spooled entry's
  std::string next_cursor;                            // the first entry found after it; "" = none
  uint64_t from_realtime_us = 0, to_realtime_us = 0;  // to: 0 when no next entry
  int64_t entries = -1;                               // -1: unknown count
  uint64_t first_seqnum = 0, last_seqnum = 0;         // when entries > 0
};

// The saved entry was not found again (sd_journal_test_cursor failed): what
// was lost between it and `next` (nullopt: the journal has no entry after
// it); nullopt when nothing was.
std::optional<JournalLoss> AssessJournalLoss(std::string_view input, std::string_view saved,
                                             std::optional<std::string_view> next);

// The loss event: PRI syslog.warning, APP-NAME "trailkeep", MSGID
// "JOURNAL_LOSS", SD [tkloss@PEN input= entries= (a number or "unknown")
// from= to= (RFC 3339, to "" when no entry follows) saved_cursor= next_cursor=
// first_seqnum= last_seqnum= (when counted)], MSG one sentence.
MessageParts JournalLossParts(const JournalLoss& loss, uint32_t enterprise_number, int64_t now_us);

}  // namespace trailkeep::agent
