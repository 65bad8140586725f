// RFC 3339 timestamps in the subset RFC 5424 section 6.2.3 allows:
// "YYYY-MM-DDThh:mm:ss[.1-6 digits](Z|+hh:mm|-hh:mm)", upper-case T and Z, no
// leap second. The conversion to UTC is plain calendar arithmetic: timegm() and
// mktime() depend on the process's TZ and locale, which a collector must not.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/base/time_format.h"
#include "common/syslog/syslog_parser.h"

namespace trailkeep {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kSecondsPerDay = 86'400;
constexpr size_t kMaxFractionDigits = 6;

struct CivilTime {
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `count` decimal digits starting at text[pos].
bool ReadDigits(std::string_view text, size_t pos, size_t count, int* value) {
  if (pos + count > text.size()) return false;
  int result = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (!IsDigit(text[i])) return false;
    result = result * 10 + (text[i] - '0');
  }
  *value = result;
  return true;
}

// Division rounding towards negative infinity, so that leap-year counts stay
// right for years before 1 (RFC 3339 admits year 0000).
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Leap years in the proleptic Gregorian calendar from year 1 through `year`.
int64_t LeapYearsThrough(int64_t year) {
  return FloorDiv(year, 4) - FloorDiv(year, 100) + FloorDiv(year, 400);
}

// Days from 1970-01-01 to the given date (negative before the epoch).
int64_t DaysFromCivil(int year, int month, int day) {
  static constexpr int kDaysBeforeMonth[12] = {0,   31,  59,  90,  120, 151,
                                               181, 212, 243, 273, 304, 334};
  const int64_t days_before_year =
      365 * (int64_t{year} - 1970) + LeapYearsThrough(year - 1) - LeapYearsThrough(1969);
  const int leap_day = month > 2 && IsLeapYear(year) ? 1 : 0;
  return days_before_year + kDaysBeforeMonth[month - 1] + leap_day + day - 1;
}

// "YYYY-MM-DDThh:mm:ss", the fixed-width first 19 bytes.
bool ParseDateTime(std::string_view text, CivilTime* t) {
  if (text.size() < 19) return false;
  if (!ReadDigits(text, 0, 4, &t->year) || text[4] != '-' || !ReadDigits(text, 5, 2, &t->month) ||
      text[7] != '-' || !ReadDigits(text, 8, 2, &t->day) || text[10] != 'T' ||
      !ReadDigits(text, 11, 2, &t->hour) || text[13] != ':' ||
      !ReadDigits(text, 14, 2, &t->minute) || text[16] != ':' ||
      !ReadDigits(text, 17, 2, &t->second)) {
    return false;
  }
  if (t->month < 1 || t->month > 12) return false;
  if (t->day < 1 || t->day > DaysInMonth(t->year, t->month)) return false;
  // Second 60 is refused on purpose: RFC 5424 forbids leap seconds.
  return t->hour <= 23 && t->minute <= 59 && t->second <= 59;
}

// Optional ".d{1,6}" at text[*pos]; scales the digits to microseconds.
bool ParseFraction(std::string_view text, size_t* pos, int64_t* micros) {
  *micros = 0;
  if (*pos >= text.size() || text[*pos] != '.') return true;
  size_t digits = 0;
  for (++*pos; *pos < text.size() && IsDigit(text[*pos]); ++*pos) {
    if (++digits > kMaxFractionDigits) return false;
    *micros = *micros * 10 + (text[*pos] - '0');
  }
  if (digits == 0) return false;
  for (; digits < kMaxFractionDigits; ++digits) *micros *= 10;
  return true;
}

// "Z" or "+hh:mm" / "-hh:mm" at text[*pos]; mandatory in RFC 5424.
bool ParseOffset(std::string_view text, size_t* pos, int* offset_min) {
  if (*pos >= text.size()) return false;
  const char c = text[*pos];
  if (c == 'Z') {
    *offset_min = 0;
    ++*pos;
    return true;
  }
  if (c != '+' && c != '-') return false;
  int hours = 0;
  int minutes = 0;
  if (!ReadDigits(text, *pos + 1, 2, &hours) || *pos + 3 >= text.size() || text[*pos + 3] != ':' ||
      !ReadDigits(text, *pos + 4, 2, &minutes)) {
    return false;
  }
  if (hours > 23 || minutes > 59) return false;
  *offset_min = (c == '-' ? -1 : 1) * (hours * 60 + minutes);
  *pos += 6;
  return true;
}

}  // namespace

bool ParseRfc3339(std::string_view text, int64_t* utc_us, int* offset_min) {
  CivilTime t;
  if (!ParseDateTime(text, &t)) return false;
  size_t pos = 19;
  int64_t micros = 0;
  int offset = 0;
  if (!ParseFraction(text, &pos, &micros) || !ParseOffset(text, &pos, &offset)) return false;
  if (pos != text.size()) return false;

  const int64_t local_seconds = DaysFromCivil(t.year, t.month, t.day) * kSecondsPerDay +
                                int64_t{t.hour} * 3600 + int64_t{t.minute} * 60 + t.second;
  // Local time = UTC + offset, so UTC = local - offset.
  *utc_us = (local_seconds - int64_t{offset} * 60) * kMicrosPerSecond + micros;
  *offset_min = offset;
  return true;
}

}  // namespace trailkeep
