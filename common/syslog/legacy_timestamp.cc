// Legacy syslog timestamps (legacy_timestamp.h). Each form is normalised to
// RFC 3339 text so that one converter, ParseRfc3339, checks the ranges and
// does the calendar arithmetic.

#include "common/syslog/legacy_timestamp.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <time.h>

#include "common/syslog/syslog_parser.h"

namespace trailkeep {
namespace {

constexpr size_t kMaxFractionDigits = 6;
constexpr size_t kMinZoneLetters = 3;
constexpr size_t kMaxZoneLetters = 5;
constexpr int64_t kMicrosPerSecond = 1'000'000;
// A year-less timestamp is placed in the latest year that does not put it more
// than this far after the receive time (sender clocks run a little ahead, and
// "Dec 31" received on Jan 1 belongs to the previous year).
constexpr int64_t kMaxFutureUs = int64_t{31} * 86'400 * kMicrosPerSecond;

constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                      "jul", "aug", "sep", "oct", "nov", "dec"};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
char ToLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Reads min_digits..max_digits digits at text[*pos]; a longer digit run fails.
bool ReadNumber(std::string_view text, size_t* pos, size_t min_digits, size_t max_digits,
                int* value) {
  size_t digits = 0;
  int result = 0;
  while (*pos < text.size() && IsDigit(text[*pos]) && digits < max_digits) {
    result = result * 10 + (text[*pos] - '0');
    ++*pos;
    ++digits;
  }
  if (digits < min_digits) return false;
  if (*pos < text.size() && IsDigit(text[*pos])) return false;  // too many digits
  *value = result;
  return true;
}

bool Consume(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

bool Consume(std::string_view text, size_t* pos, std::string_view word) {
  if (text.substr(*pos, word.size()) != word) return false;
  *pos += word.size();
  return true;
}

bool AtTokenEnd(std::string_view text, size_t pos) {
  return pos >= text.size() || text[pos] == ' ';
}

// A token end, or Cisco's ':' after the timestamp followed by one.
bool AtStampEnd(std::string_view text, size_t pos) {
  return AtTokenEnd(text, pos) || (text[pos] == ':' && AtTokenEnd(text, pos + 1));
}

// 1..12 for an English month abbreviation (any case) at text[pos], else 0.
int MonthAt(std::string_view text, size_t pos) {
  if (pos + 3 > text.size()) return 0;
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (ToLower(text[pos]) == kMonths[i][0] && ToLower(text[pos + 1]) == kMonths[i][1] &&
        ToLower(text[pos + 2]) == kMonths[i][2]) {
      return static_cast<int>(i) + 1;
    }
  }
  return 0;
}

// ".ddd..." at text[*pos]: keeps at most six digits (microseconds), drops the rest.
std::string ReadFraction(std::string_view text, size_t* pos) {
  if (*pos + 1 >= text.size() || text[*pos] != '.' || !IsDigit(text[*pos + 1])) return "";
  std::string fraction = ".";
  for (++*pos; *pos < text.size() && IsDigit(text[*pos]); ++*pos) {
    if (fraction.size() <= kMaxFractionDigits) fraction.push_back(text[*pos]);
  }
  return fraction;
}

// Zero-padded decimal of a non-negative value below 10^width.
std::string PadDigits(int value, size_t width) {
  std::string out(width, '0');
  for (size_t i = width; i > 0 && value > 0; --i, value /= 10) {
    out[i - 1] = static_cast<char>('0' + value % 10);
  }
  return out;
}

std::string TwoDigits(int value) { return PadDigits(value, 2); }
std::string FourDigits(int value) { return PadDigits(value, 4); }

// "hh:mm:ss" at text[*pos].
bool ReadClock(std::string_view text, size_t* pos, int* h, int* m, int* s) {
  return ReadNumber(text, pos, 2, 2, h) && Consume(text, pos, ':') &&
         ReadNumber(text, pos, 2, 2, m) && Consume(text, pos, ':') &&
         ReadNumber(text, pos, 2, 2, s);
}

// The digits of a numeric date and time, as read.
struct DateTime {
  int year = 0;
  int month = 0;
  int day = 0;
  int h = 0;
  int m = 0;
  int s = 0;
};

// "YYYY-MM-DD" at text[*pos], and the closing '"' when `quoted`.
bool ReadIsoDate(std::string_view text, size_t* pos, bool quoted, DateTime* t) {
  return ReadNumber(text, pos, 4, 4, &t->year) && Consume(text, pos, '-') &&
         ReadNumber(text, pos, 2, 2, &t->month) && Consume(text, pos, '-') &&
         ReadNumber(text, pos, 2, 2, &t->day) && (!quoted || Consume(text, pos, '"'));
}

// ": " and a Cisco tag at text[pos]: what makes a zone name or an uptime Cisco's.
bool CiscoTagFollows(std::string_view text, size_t pos) {
  if (pos + 1 >= text.size() || text[pos] != ':' || text[pos + 1] != ' ') return false;
  pos += 1;
  while (pos < text.size() && text[pos] == ' ') ++pos;
  return CiscoTagLength(text.substr(pos)) != 0;
}

// " ZONE" before ": %TAG" at text[*pos]; sets *utc for UTC and GMT.
bool ReadZoneName(std::string_view text, size_t* pos, bool* utc) {
  size_t p = *pos;
  if (!Consume(text, &p, ' ')) return false;
  const size_t start = p;
  while (p < text.size() && IsUpper(text[p]) && p - start <= kMaxZoneLetters) ++p;
  const size_t letters = p - start;
  if (letters < kMinZoneLetters || letters > kMaxZoneLetters || !CiscoTagFollows(text, p)) {
    return false;
  }
  const std::string_view name = text.substr(start, letters);
  *utc = name == "UTC" || name == "GMT";
  *pos = p;
  return true;
}

// Date and clock digits as RFC 3339 text with the zone `zone` ("Z", "+02:00").
std::string Rfc3339Text(int year, int month, int day, int h, int m, int s,
                        const std::string& fraction, std::string_view zone) {
  return FourDigits(year) + "-" + TwoDigits(month) + "-" + TwoDigits(day) + "T" + TwoDigits(h) +
         ":" + TwoDigits(m) + ":" + TwoDigits(s) + fraction + std::string(zone);
}

// Clock, fraction, zone name and end of a BSD or NX-OS timestamp; completes *ts.
// `year` is -1 when the text has none before the clock.
bool ReadClockToEnd(std::string_view text, size_t pos, int year, int month, int day,
                    LegacyTimestamp* ts) {
  int h = 0;
  int m = 0;
  int s = 0;
  if (!ReadClock(text, &pos, &h, &m, &s)) return false;
  const std::string fraction = ReadFraction(text, &pos);
  if (year < 0) {  // " yyyy" after the time (Junos `time-format year`)
    size_t p = pos;
    if (Consume(text, &p, ' ') && ReadNumber(text, &p, 4, 4, &year) && AtStampEnd(text, p)) {
      pos = p;
    } else {
      year = -1;
    }
  }
  bool utc = false;
  ReadZoneName(text, &pos, &utc);
  if (!AtStampEnd(text, pos)) return false;
  ts->length = pos;
  ts->has_year = year >= 0;
  ts->has_zone = utc;
  ts->valid_date = day >= 1 && day <= 31 && h <= 23 && m <= 59 && s <= 59;
  ts->rfc3339 = Rfc3339Text(ts->has_year ? year : 0, month, day, h, m, s, fraction, "Z");
  return true;
}

// "[*|.]Mmm dd [yyyy ]hh:mm:ss..." ('*' and '.' are Cisco's marks for a clock
// that is not, or no longer, synchronised).
bool ParseBsdTimestamp(std::string_view text, LegacyTimestamp* ts) {
  size_t pos = !text.empty() && (text[0] == '*' || text[0] == '.') ? 1 : 0;
  const int month = MonthAt(text, pos);
  if (month == 0) return false;
  pos += 3;
  if (!Consume(text, &pos, ' ')) return false;
  Consume(text, &pos, ' ');  // "Aug  5": day padded with a space
  int day = 0;
  int year = -1;
  if (!ReadNumber(text, &pos, 1, 2, &day) || !Consume(text, &pos, ' ')) return false;
  size_t p = pos;
  int leading_year = 0;
  if (ReadNumber(text, &p, 4, 4, &leading_year) && Consume(text, &p, ' ')) {
    year = leading_year;  // "Mmm dd yyyy hh:mm:ss" (Cisco ASA, IOS `year`)
    pos = p;
  }
  return ReadClockToEnd(text, pos, year, month, day, ts);
}

// NX-OS: "yyyy Mmm dd hh:mm:ss...".
bool ParseNxosTimestamp(std::string_view text, LegacyTimestamp* ts) {
  size_t pos = 0;
  int year = 0;
  int day = 0;
  if (!ReadNumber(text, &pos, 4, 4, &year) || !Consume(text, &pos, ' ')) return false;
  const int month = MonthAt(text, pos);
  if (month == 0) return false;
  pos += 3;
  if (!Consume(text, &pos, ' ')) return false;
  Consume(text, &pos, ' ');
  if (!ReadNumber(text, &pos, 1, 2, &day) || !Consume(text, &pos, ' ')) return false;
  return ReadClockToEnd(text, pos, year, month, day, ts);
}

// "YYYY-MM-DDThh:mm:ss[.frac][Z|+hh:mm|-hh:mm]" with the fraction of any length.
bool ParseIsoTimestamp(std::string_view text, LegacyTimestamp* ts) {
  size_t pos = 0;
  DateTime t;
  if (!ReadIsoDate(text, &pos, false, &t) || !Consume(text, &pos, 'T') ||
      !ReadClock(text, &pos, &t.h, &t.m, &t.s)) {
    return false;
  }
  std::string normal(text.substr(0, pos));
  normal += ReadFraction(text, &pos);
  if (Consume(text, &pos, 'Z')) {
    ts->has_zone = true;
    normal += 'Z';
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const size_t zone_start = pos++;
    int zh = 0;
    int zm = 0;
    if (!ReadNumber(text, &pos, 2, 2, &zh) || !Consume(text, &pos, ':') ||
        !ReadNumber(text, &pos, 2, 2, &zm)) {
      return false;
    }
    ts->has_zone = true;
    normal += text.substr(zone_start, pos - zone_start);
  } else {
    normal += 'Z';  // no zone: taken as UTC, and the caller marks the time inferred
  }
  if (!AtStampEnd(text, pos)) return false;
  ts->length = pos;
  ts->has_year = true;
  ts->valid_date = true;  // ParseRfc3339 checks the ranges
  ts->rfc3339 = std::move(normal);
  return true;
}

// Cisco's uptime stamps before ": %TAG": "00:00:46[.123]", "1d02h", "20w2d".
bool ParseCiscoUptime(std::string_view text, LegacyTimestamp* ts) {
  size_t pos = 0;
  int a = 0;
  int b = 0;
  int c = 0;
  if (ReadClock(text, &pos, &a, &b, &c)) {
    ReadFraction(text, &pos);
  } else {
    pos = 0;
    const bool days_hours = ReadNumber(text, &pos, 1, 3, &a) && Consume(text, &pos, 'd') &&
                            ReadNumber(text, &pos, 2, 2, &b) && Consume(text, &pos, 'h');
    if (!days_hours) {
      pos = 0;
      if (!ReadNumber(text, &pos, 1, 4, &a) || !Consume(text, &pos, 'w') ||
          !ReadNumber(text, &pos, 1, 1, &b) || !Consume(text, &pos, 'd')) {
        return false;
      }
    }
  }
  if (!CiscoTagFollows(text, pos)) return false;
  ts->kind = LegacyTimestamp::Kind::kUptime;
  ts->length = pos;
  return true;
}

int YearOf(int64_t utc_us) {
  int64_t seconds = utc_us / kMicrosPerSecond;
  if (utc_us < 0 && utc_us % kMicrosPerSecond != 0) --seconds;
  const auto t = static_cast<time_t>(seconds);
  struct tm tm_utc = {};
  if (gmtime_r(&t, &tm_utc) == nullptr) return 1970;
  return tm_utc.tm_year + 1900;
}

// Picks the year for a year-less timestamp: the latest candidate around the
// receive year that is not more than kMaxFutureUs after the receive time. The
// candidates go back far enough to find a leap year for "Feb 29".
bool ResolveYearlessTime(const LegacyTimestamp& ts, int64_t receive_time_us, int64_t* utc_us) {
  const int receive_year = YearOf(receive_time_us);
  std::string text = ts.rfc3339;
  for (int year = receive_year + 1; year >= receive_year - 7; --year) {
    if (year < 0 || year > 9999) continue;
    text.replace(0, 4, FourDigits(year));
    int offset = 0;
    int64_t candidate = 0;
    // Compared as candidate - limit: the candidate is bounded by years 0..9999,
    // the receive time is not, and signed overflow would be undefined.
    if (ParseRfc3339(text, &candidate, &offset) && candidate - kMaxFutureUs <= receive_time_us) {
      *utc_us = candidate;
      return true;
    }
  }
  return false;
}

// "+hhmm", "-hhmm", "+hh:mm" or "-hh:mm" as an RFC 3339 offset, or "".
std::string ZoneOffset(std::string_view tz) {
  if (tz.size() == 5 && (tz[0] == '+' || tz[0] == '-') && IsDigit(tz[1]) && IsDigit(tz[2]) &&
      IsDigit(tz[3]) && IsDigit(tz[4])) {
    return std::string(tz.substr(0, 3)) + ":" + std::string(tz.substr(3));
  }
  size_t pos = 1;
  int h = 0;
  int m = 0;
  if (tz.size() != 6 || (tz[0] != '+' && tz[0] != '-') || !ReadNumber(tz, &pos, 2, 2, &h) ||
      !Consume(tz, &pos, ':') || !ReadNumber(tz, &pos, 2, 2, &m)) {
    return "";
  }
  return std::string(tz);
}

}  // namespace

bool ReadLegacyTimestamp(std::string_view text, LegacyTimestamp* ts) {
  using Parser = bool (*)(std::string_view, LegacyTimestamp*);
  for (Parser parse :
       {ParseBsdTimestamp, ParseNxosTimestamp, ParseIsoTimestamp, ParseCiscoUptime}) {
    *ts = LegacyTimestamp();
    if (parse(text, ts)) return true;
  }
  *ts = LegacyTimestamp();
  return false;
}

bool ReadFortiosTimestamp(std::string_view text, std::string_view tz, LegacyTimestamp* ts) {
  size_t pos = 0;
  DateTime t;
  if (!Consume(text, &pos, "date=")) return false;
  const bool quoted_date = Consume(text, &pos, '"');
  if (!ReadIsoDate(text, &pos, quoted_date, &t) || !Consume(text, &pos, " time=")) return false;
  const bool quoted_time = Consume(text, &pos, '"');
  if (!ReadClock(text, &pos, &t.h, &t.m, &t.s) || (quoted_time && !Consume(text, &pos, '"')) ||
      !AtTokenEnd(text, pos)) {
    return false;
  }
  const std::string offset = ZoneOffset(tz);
  *ts = LegacyTimestamp();
  ts->length = pos;
  ts->has_year = true;
  ts->has_zone = !offset.empty();
  ts->valid_date = true;  // ParseRfc3339 checks the ranges
  ts->rfc3339 =
      Rfc3339Text(t.year, t.month, t.day, t.h, t.m, t.s, "", offset.empty() ? "Z" : offset);
  return true;
}

bool LooksLikeTimestamp(std::string_view text) {
  const size_t mark = !text.empty() && (text[0] == '*' || text[0] == '.') ? 1 : 0;
  if (MonthAt(text, mark) != 0 && mark + 4 < text.size() && text[mark + 3] == ' ' &&
      (text[mark + 4] == ' ' || IsDigit(text[mark + 4]))) {
    return true;
  }
  size_t pos = 0;
  int year = 0;
  if (!ReadNumber(text, &pos, 4, 4, &year) || pos + 1 >= text.size()) return false;
  return (text[pos] == '-' && IsDigit(text[pos + 1])) ||
         (text[pos] == ' ' && MonthAt(text, pos + 1) != 0);
}

bool ResolveLegacyTime(const LegacyTimestamp& ts, int64_t receive_time_us, int64_t* utc_us,
                       int* offset_min) {
  if (ts.kind != LegacyTimestamp::Kind::kDate || !ts.valid_date) return false;
  *offset_min = 0;
  if (ts.has_year) return ParseRfc3339(ts.rfc3339, utc_us, offset_min);
  return ResolveYearlessTime(ts, receive_time_us, utc_us);
}

size_t CiscoTagLength(std::string_view text) {
  if (text.empty() || text[0] != '%') return 0;
  size_t pos = 1;
  size_t segments = 0;
  bool severity_inside = false;  // a one-digit segment with a mnemonic after it
  while (true) {
    const size_t start = pos;
    while (pos < text.size() && (IsUpper(text[pos]) || IsDigit(text[pos]) || text[pos] == '_' ||
                                 (text[pos] >= 'a' && text[pos] <= 'z'))) {
      ++pos;
    }
    if (pos == start) return 0;
    if (segments > 0 && pos - start == 1 && text[start] >= '0' && text[start] <= '7' &&
        pos < text.size() && text[pos] == '-') {
      severity_inside = true;
    }
    ++segments;
    if (!Consume(text, &pos, '-')) break;
  }
  if (segments < 3 || !severity_inside || !Consume(text, &pos, ':') || !AtTokenEnd(text, pos)) {
    return 0;
  }
  return pos;
}

}  // namespace trailkeep
