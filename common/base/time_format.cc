#include "common/base/time_format.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace trailkeep {
namespace {

// Howard Hinnant's days-from-civil algorithm (public domain arithmetic).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

std::optional<int64_t> ParseAbsolute(std::string_view s) {
  int year, mon, day;
  if (!ParseDigits(s, 0, 4, &year) || s.size() < 10 || s[4] != '-' || !ParseDigits(s, 5, 2, &mon) ||
      s[7] != '-' || !ParseDigits(s, 8, 2, &day)) {
    return std::nullopt;
  }
  if (mon < 1 || mon > 12 || day < 1 || day > DaysInMonth(year, mon)) return std::nullopt;
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day));
  if (s.size() == 10) return days * 86400LL * 1000000;
  int hh, mm, ss;
  if (s.size() < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !ParseDigits(s, 11, 2, &hh) || s[13] != ':' || !ParseDigits(s, 14, 2, &mm) || s[16] != ':' ||
      !ParseDigits(s, 17, 2, &ss) || hh > 23 || mm > 59 || ss > 59) {
    return std::nullopt;
  }
  int64_t us = ((days * 24 + hh) * 60 + mm) * 60LL * 1000000 + ss * 1000000LL;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    int64_t frac = 0, scale = 1000000;
    ++pos;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (scale > 1) {
        scale /= 10;
        frac += (s[pos] - '0') * scale;
      }
      ++pos;
    }
    if (pos == start) return std::nullopt;
    us += frac;
  }
  if (pos == s.size()) return us;  // no zone: UTC
  if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) return us;
  int oh, om;
  if ((s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() && ParseDigits(s, pos + 1, 2, &oh) &&
      s[pos + 3] == ':' && ParseDigits(s, pos + 4, 2, &om) && oh <= 23 && om <= 59) {
    int64_t off = (oh * 60LL + om) * 60 * 1000000;
    return s[pos] == '+' ? us - off : us + off;
  }
  return std::nullopt;
}

}  // namespace

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

std::string FormatRfc3339Micros(int64_t utc_us) {
  int64_t secs = utc_us / 1000000;
  int64_t frac = utc_us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

std::optional<int64_t> ParseTimeArg(std::string_view text, int64_t now_us) {
  if (text.empty()) return std::nullopt;
  if (text == "now") return now_us;
  const char unit = text.back();
  std::string_view digits = text.substr(0, text.size() - 1);
  int64_t mult = 0;
  switch (unit) {
    case 's':
      mult = 1;
      break;
    case 'm':
      mult = 60;
      break;
    case 'h':
      mult = 3600;
      break;
    case 'd':
      mult = 86400;
      break;
    case 'w':
      mult = 7 * 86400;
      break;
    default:
      break;
  }
  if (mult != 0 && !digits.empty() && digits.size() <= 9 &&
      digits.find_first_not_of("0123456789") == std::string_view::npos) {
    // Nine digits of weeks reach past int64 microseconds: refused, not overflowed.
    int64_t back = 0, at = 0;
    if (__builtin_mul_overflow(std::stoll(std::string(digits)), mult * 1000000, &back) ||
        __builtin_sub_overflow(now_us, back, &at)) {
      return std::nullopt;
    }
    return at;
  }
  return ParseAbsolute(text);
}

}  // namespace trailkeep
