// JournalFields: one systemd journal entry as the agent keeps it, and its
// mapping to the event message. Pure code: no I/O, no clock, no logging.
//
// The mapping is that of journald's own syslog forwarding:
//   PRI       SYSLOG_FACILITY * 8 + PRIORITY (the input's facility and
//             severity stand in for a missing or unreadable one)
//   TIMESTAMP __REALTIME_TIMESTAMP (when the journal received the entry)
//   HOSTNAME  the agent's own host (set by the message builder, never _HOSTNAME)
//   APP-NAME  SYSLOG_IDENTIFIER, else _COMM
//   PROCID    _PID, else SYSLOG_PID
//   MSGID     "-"
//   MSG       MESSAGE, its bytes as they are (binary, not UTF-8, LF: kept)
// and the fields an entry's sender cannot forge (journald adds them), with
// _HOSTNAME, follow as one SD element `tkjournal@PEN` whose PARAM-NAMEs are
// the journal's field names: _HOSTNAME, _UID, _GID, _COMM, _EXE,
// _SYSTEMD_UNIT, _BOOT_ID, in that order, each only when the entry has it.
// A value that is not UTF-8 has each invalid byte written as \xHH (as the
// collector stores any text), since RFC 5424 PARAM-VALUEs are UTF-8.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/message_builder.h"

namespace trailkeep::agent {

struct JournalFields {
  int64_t realtime_us = 0;  // __REALTIME_TIMESTAMP
  std::string message;      // MESSAGE
  std::string identifier;   // SYSLOG_IDENTIFIER
  std::string syslog_pid;   // SYSLOG_PID
  std::string priority;     // PRIORITY ("0".."7")
  std::string facility;     // SYSLOG_FACILITY ("0".."23")
  // Trusted fields.
  std::string pid, hostname, uid, gid, comm, exe, unit, boot_id;

  // Stores one "NAME=value" datum of the entry if it is a field kept here;
  // other fields are ignored.
  void Take(std::string_view datum);
};

struct JournalSource {
  std::string_view input_name;
  uint32_t enterprise_number = 32473;
  int facility = 1;  // user
  int severity = 5;  // notice
};

MessageParts PartsFromJournal(const JournalFields& fields, const JournalSource& source);

}  // namespace trailkeep::agent
