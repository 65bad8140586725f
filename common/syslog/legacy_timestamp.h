// Timestamps of legacy syslog as senders write them (docs/formats/syslog.md,
// 'RFC 3164 and what senders really send'), read for ParseRfc3164:
//
//   BSD      [*|.]Mmm dd [yyyy ]hh:mm:ss[.frac][ yyyy][ ZONE]
//   NX-OS    yyyy Mmm dd hh:mm:ss[.frac][ ZONE]
//   ISO      YYYY-MM-DDThh:mm:ss[.frac][Z|+hh:mm|-hh:mm]
//   uptime   hh:mm:ss[.frac] | NdNNh | NwNd     (a Cisco device without a clock)
//   FortiOS  date=YYYY-MM-DD time=hh:mm:ss     (zone from the message's tz= field)
//
// A timestamp ends at a space, at the end of the text, or at a ':' followed by
// either (Cisco's "14:45:21: %ASA-..."); that ':' is not part of it. ZONE
// (Cisco's `show-timezone`) and uptimes are taken only before ": %FAC-SEV-MNEM:",
// so that "05:08:34 CRON: x" keeps CRON as a tag. Only UTC and GMT are zones;
// other names are kept in the text and the time is read as UTC (inferred),
// because abbreviations are ambiguous and Cisco lets admins invent them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace trailkeep {

struct LegacyTimestamp {
  enum class Kind { kDate, kUptime };
  Kind kind = Kind::kDate;
  size_t length = 0;        // bytes of the input it spans (zone included, final ':' not)
  bool has_year = false;    // false: `rfc3339` holds the placeholder year 0000
  bool has_zone = false;    // false: the sender's local time, read as UTC
  bool valid_date = false;  // digits in range; false keeps the text but not the time
  std::string rfc3339;      // "YYYY-MM-DDThh:mm:ss[.ffffff](Z|+hh:mm)"
};

// BSD, NX-OS, ISO or uptime at the start of `text`; false when none.
bool ReadLegacyTimestamp(std::string_view text, LegacyTimestamp* ts);

// FortiOS "date=... time=..." at the start of `text`; `tz` is the value of the
// message's tz= field ("+0200", "-0700"; empty when absent).
bool ReadFortiosTimestamp(std::string_view text, std::string_view tz, LegacyTimestamp* ts);

// True when `text` starts the way a timestamp does (month name, "yyyy-",
// "yyyy Mmm"), so that one that cannot be read is reported, not silently taken
// as MSG.
bool LooksLikeTimestamp(std::string_view text);

// The UTC time of a kDate timestamp with valid_date. A year-less one is placed
// in the latest year that does not put it more than 31 days after
// `receive_time_us`. False when no such time exists (e.g. "Feb 30").
bool ResolveLegacyTime(const LegacyTimestamp& ts, int64_t receive_time_us, int64_t* utc_us,
                       int* offset_min);

// Length of Cisco's "%FACILITY-SEVERITY-MNEMONIC:" at the start of `text`
// (':' included, followed by a space or the end), or 0.
size_t CiscoTagLength(std::string_view text);

}  // namespace trailkeep
