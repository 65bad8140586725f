// Lenient parsing of legacy ("BSD", RFC 3164) syslog and its real-world forms
// (docs/formats/syslog.md, 'RFC 3164 and what senders really send'):
//
//   [<PRI>] [TIMESTAMP SP] [HOSTNAME SP] [TAG[[PID]][:] [SP]] MSG
//
// TIMESTAMP is "Mmm dd hh:mm:ss" (day space-padded or not, optional year before
// or after the time, optional fraction) or an ISO 8601 / RFC 3339 time with or
// without fraction and zone. Messages read from /dev/log carry no HOSTNAME: the
// token after the timestamp is then already the tag ("myapp:" or "myapp[12]").
//
// Nothing here fails: what does not fit a field stays in MSG, and the raw frame
// is the caller's. HOSTNAME, TAG and PID are taken only when they are printable
// US-ASCII, because proto3 `string` fields must hold valid UTF-8.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <time.h>

#include "common/syslog/syslog_parser.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

constexpr int kMaxPri = 191;
constexpr size_t kMaxHostname = 255;
constexpr size_t kMaxTag = 48;  // RFC 5424 APP-NAME limit, so the record can be re-exported
constexpr size_t kMaxProcId = 128;
constexpr size_t kMaxFractionDigits = 6;
constexpr int64_t kMicrosPerSecond = 1'000'000;
// A year-less timestamp is placed in the latest year that does not put it more
// than this far after the receive time (sender clocks run a little ahead, and
// "Dec 31" received on Jan 1 belongs to the previous year).
constexpr int64_t kMaxFutureUs = int64_t{31} * 86'400 * kMicrosPerSecond;

constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                      "jul", "aug", "sep", "oct", "nov", "dec"};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsPrintable(char c) { return c >= 33 && c <= 126; }
char ToLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// A timestamp found at the start of the text, normalised for ParseRfc3339.
struct Timestamp {
  size_t length = 0;      // bytes of the input it spans
  bool has_year = false;  // false: `rfc3339` holds the placeholder year 0000
  bool has_zone = false;
  bool valid_date = false;  // digits in range; false keeps the text but not the time
  std::string rfc3339;      // "YYYY-MM-DDThh:mm:ss[.ffffff](Z|+hh:mm)"
};

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

bool AtTokenEnd(std::string_view text, size_t pos) {
  return pos >= text.size() || text[pos] == ' ';
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

// " yyyy" followed by a token end, at text[*pos].
bool ReadTrailingYear(std::string_view text, size_t* pos, int* year) {
  size_t p = *pos;
  if (!Consume(text, &p, ' ') || !ReadNumber(text, &p, 4, 4, year) || !AtTokenEnd(text, p)) {
    return false;
  }
  *pos = p;
  return true;
}

// "Mmm dd [yyyy ]hh:mm:ss[.frac][ yyyy]".
bool ParseBsdTimestamp(std::string_view text, Timestamp* ts) {
  if (text.size() < 3) return false;
  int month = 0;
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (ToLower(text[0]) == kMonths[i][0] && ToLower(text[1]) == kMonths[i][1] &&
        ToLower(text[2]) == kMonths[i][2]) {
      month = static_cast<int>(i) + 1;
      break;
    }
  }
  if (month == 0) return false;
  size_t pos = 3;
  if (!Consume(text, &pos, ' ')) return false;
  Consume(text, &pos, ' ');  // "Aug  5": day padded with a space
  int day = 0;
  int year = 0;
  int h = 0;
  int m = 0;
  int s = 0;
  if (!ReadNumber(text, &pos, 1, 2, &day) || !Consume(text, &pos, ' ')) return false;
  size_t p = pos;
  if (ReadNumber(text, &p, 4, 4, &year) && Consume(text, &p, ' ')) {
    ts->has_year = true;  // "Mmm dd yyyy hh:mm:ss"
    pos = p;
  }
  if (!ReadClock(text, &pos, &h, &m, &s)) return false;
  const std::string fraction = ReadFraction(text, &pos);
  if (!ts->has_year && ReadTrailingYear(text, &pos, &year)) ts->has_year = true;
  if (!AtTokenEnd(text, pos)) return false;

  ts->length = pos;
  ts->valid_date = day >= 1 && day <= 31 && h <= 23 && m <= 59 && s <= 59;
  ts->rfc3339 = FourDigits(ts->has_year ? year : 0) + "-" + TwoDigits(month) + "-" +
                TwoDigits(day) + "T" + TwoDigits(h) + ":" + TwoDigits(m) + ":" + TwoDigits(s) +
                fraction + "Z";
  return true;
}

// "YYYY-MM-DDThh:mm:ss[.frac][Z|+hh:mm|-hh:mm]" with the fraction of any length.
bool ParseIsoTimestamp(std::string_view text, Timestamp* ts) {
  size_t pos = 0;
  int year = 0;
  int month = 0;
  int day = 0;
  int h = 0;
  int m = 0;
  int s = 0;
  if (!ReadNumber(text, &pos, 4, 4, &year) || !Consume(text, &pos, '-') ||
      !ReadNumber(text, &pos, 2, 2, &month) || !Consume(text, &pos, '-') ||
      !ReadNumber(text, &pos, 2, 2, &day) || !Consume(text, &pos, 'T') ||
      !ReadClock(text, &pos, &h, &m, &s)) {
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
  if (!AtTokenEnd(text, pos)) return false;
  ts->length = pos;
  ts->has_year = true;
  ts->valid_date = true;  // ParseRfc3339 checks the ranges
  ts->rfc3339 = std::move(normal);
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
bool ResolveYearlessTime(const Timestamp& ts, int64_t receive_time_us, int64_t* utc_us) {
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

// Parses a timestamp at the start of `text` and stores it; returns its length
// (0 when there is none).
size_t ParseTimestamp(std::string_view text, int64_t receive_time_us, v1::Event* event) {
  Timestamp ts;
  if (!ParseBsdTimestamp(text, &ts)) {
    ts = Timestamp();
    if (!ParseIsoTimestamp(text, &ts)) return 0;
  }
  event->set_timestamp_text(std::string(text.substr(0, ts.length)));
  int64_t utc_us = 0;
  int offset_min = 0;
  bool resolved = false;
  if (ts.valid_date) {
    resolved = ts.has_year ? ParseRfc3339(ts.rfc3339, &utc_us, &offset_min)
                           : ResolveYearlessTime(ts, receive_time_us, &utc_us);
  }
  if (resolved) {
    event->set_event_time_us(utc_us);
    event->set_event_tz_offset_min(offset_min);
    // Without a zone the sender's local time was read as UTC: a guess.
    event->set_event_time_inferred(!ts.has_zone);
  }
  return ts.length;
}

// "<PRI>" with 1-3 digits. A well-formed but out-of-range PRI is skipped and
// recorded as -1, so that it does not end up in front of the timestamp.
size_t ParsePri(std::string_view text, v1::Event* event) {
  size_t pos = 0;
  int value = 0;
  if (!Consume(text, &pos, '<') || !ReadNumber(text, &pos, 1, 3, &value) ||
      !Consume(text, &pos, '>')) {
    return 0;
  }
  if (value <= kMaxPri) event->set_pri(value);
  return pos;
}

std::string_view SkipSpaces(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  return text;
}

std::string_view FirstToken(std::string_view text) { return text.substr(0, text.find(' ')); }

bool IsPrintableToken(std::string_view token) {
  for (char c : token) {
    if (!IsPrintable(c)) return false;
  }
  return !token.empty();
}

// A token that can only be a tag: "myapp:" or "myapp[123]...".
bool LooksLikeTag(std::string_view token) {
  return !token.empty() && (token.back() == ':' || token.find('[') != std::string_view::npos);
}

// "TAG[PID]: MSG", "TAG: MSG", "TAG MSG"; anything else is all MSG.
void ParseTagAndMsg(std::string_view text, v1::Event* event) {
  size_t tag_len = 0;
  while (tag_len < text.size() && IsPrintable(text[tag_len]) && text[tag_len] != '[' &&
         text[tag_len] != ':') {
    ++tag_len;
  }
  const bool tag_ends_cleanly = tag_len == text.size() || text[tag_len] == '[' ||
                                text[tag_len] == ':' || text[tag_len] == ' ';
  if (tag_len == 0 || tag_len > kMaxTag || !tag_ends_cleanly) {
    event->set_msg(std::string(text));
    return;
  }
  size_t pos = tag_len;
  std::string_view procid;
  if (pos < text.size() && text[pos] == '[') {
    const size_t close = text.find(']', pos);
    procid = close == std::string_view::npos ? std::string_view()
                                             : text.substr(pos + 1, close - pos - 1);
    if (procid.size() > kMaxProcId || !IsPrintableToken(procid)) {
      event->set_msg(std::string(text));  // "[" without a usable PID: not a tag
      return;
    }
    pos = close + 1;
  }
  event->set_app_name(std::string(text.substr(0, tag_len)));
  event->set_procid(std::string(procid));
  Consume(text, &pos, ':');
  Consume(text, &pos, ' ');
  event->set_msg(std::string(text.substr(pos)));
}

// Drops the NUL, CR and LF trailers that some senders and framers leave.
std::string_view TrimTrailers(std::string_view text) {
  while (!text.empty() && (text.back() == '\0' || text.back() == '\r' || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

void ParseRfc3164(std::string_view frame, int64_t receive_time_us, v1::Event* event) {
  ResetParsedFields(v1::FORMAT_RFC3164, receive_time_us, event);
  std::string_view rest = TrimTrailers(frame);
  rest.remove_prefix(ParsePri(rest, event));

  // Some senders put a space after PRI; skip it only if a timestamp follows,
  // so that a timestamp-less MSG keeps its leading spaces.
  const std::string_view after_spaces = SkipSpaces(rest);
  size_t ts_len = ParseTimestamp(rest, receive_time_us, event);
  if (ts_len == 0 && after_spaces.size() != rest.size()) {
    ts_len = ParseTimestamp(after_spaces, receive_time_us, event);
    if (ts_len != 0) rest = after_spaces;
  }
  if (ts_len == 0) {
    // RFC 3164 4.3.2: without a TIMESTAMP the rest is CONTENT; a relay would
    // add HOSTNAME itself. Still take an obvious "tag:" or "tag[pid]".
    if (LooksLikeTag(FirstToken(rest))) {
      ParseTagAndMsg(rest, event);
    } else {
      event->set_msg(std::string(rest));
    }
    return;
  }
  rest = SkipSpaces(rest.substr(ts_len));

  const std::string_view host = FirstToken(rest);
  if (!LooksLikeTag(host)) {
    if (host.size() > kMaxHostname || !IsPrintableToken(host)) {
      event->set_msg(std::string(rest));
      return;
    }
    event->set_hostname(std::string(host));
    rest = SkipSpaces(rest.substr(host.size()));
  }
  ParseTagAndMsg(rest, event);
}

}  // namespace trailkeep
