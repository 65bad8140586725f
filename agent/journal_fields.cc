#include "agent/journal_fields.h"

#include <charconv>
#include <utility>

#include "common/base/utf8.h"
#include "common/syslog/rfc5424_writer.h"

namespace trailkeep::agent {
namespace {

// "0".."max" -> its value; -1 for anything else.
int SmallNumber(std::string_view text, int max) {
  int v = -1;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || v < 0 || v > max) return -1;
  return v;
}

}  // namespace

void JournalFields::Take(std::string_view datum) {
  const size_t eq = datum.find('=');
  if (eq == std::string_view::npos) return;
  const std::string_view name = datum.substr(0, eq);
  const std::string_view value = datum.substr(eq + 1);
  static constexpr std::pair<std::string_view, std::string JournalFields::*> kFields[] = {
      {"MESSAGE", &JournalFields::message},
      {"SYSLOG_IDENTIFIER", &JournalFields::identifier},
      {"SYSLOG_PID", &JournalFields::syslog_pid},
      {"PRIORITY", &JournalFields::priority},
      {"SYSLOG_FACILITY", &JournalFields::facility},
      {"_PID", &JournalFields::pid},
      {"_HOSTNAME", &JournalFields::hostname},
      {"_UID", &JournalFields::uid},
      {"_GID", &JournalFields::gid},
      {"_COMM", &JournalFields::comm},
      {"_EXE", &JournalFields::exe},
      {"_SYSTEMD_UNIT", &JournalFields::unit},
      {"_BOOT_ID", &JournalFields::boot_id},
  };
  for (const auto& [field, member] : kFields) {
    if (name == field) {
      (this->*member).assign(value);
      return;
    }
  }
}

MessageParts PartsFromJournal(const JournalFields& f, const JournalSource& source) {
  MessageParts parts;
  int severity = SmallNumber(f.priority, 7);
  int facility = SmallNumber(f.facility, 23);
  if (severity < 0) severity = source.severity;
  if (facility < 0) facility = source.facility;
  parts.pri = facility * 8 + severity;
  parts.time_us = f.realtime_us;
  parts.app_name = !f.identifier.empty() ? f.identifier : !f.comm.empty() ? f.comm : "-";
  parts.procid = !f.pid.empty() ? f.pid : !f.syslog_pid.empty() ? f.syslog_pid : "-";
  parts.input_name = std::string(source.input_name);
  parts.msg = f.message;

  const std::pair<std::string_view, const std::string*> kept[] = {
      {"_HOSTNAME", &f.hostname}, {"_UID", &f.uid}, {"_GID", &f.gid},
      {"_COMM", &f.comm},         {"_EXE", &f.exe}, {"_SYSTEMD_UNIT", &f.unit},
      {"_BOOT_ID", &f.boot_id},
  };
  SdWriter sd(&parts.extra_sd);
  bool open = false;
  for (const auto& [name, value] : kept) {
    if (value->empty()) continue;
    if (!open) sd.Element("tkjournal@" + std::to_string(source.enterprise_number));
    open = true;
    // A PARAM-VALUE is UTF-8 (RFC 5424 section 6.3.3): invalid bytes as \xHH.
    sd.Param(name, IsValidUtf8(*value) ? *value : EscapeInvalidUtf8(*value));
  }
  sd.Close();
  return parts;
}

}  // namespace trailkeep::agent
