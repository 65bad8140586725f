// Lenient parsing of legacy ("BSD", RFC 3164) syslog and its real-world forms
// (docs/formats/syslog.md, 'RFC 3164 and what senders really send'):
//
//   [<PRI>] [SEQ: ] [ORIGIN: ] [TIMESTAMP[:] SP] [HOSTNAME SP] [TAG[[PID]][:] [SP]] MSG
//
// TIMESTAMP is any form legacy_timestamp.h reads (BSD with or without year,
// NX-OS, ISO, Cisco's marks, zone names and uptimes). SEQ and ORIGIN are
// Cisco's sequence number and `logging origin-id` host, taken only when a
// timestamp or a Cisco tag follows them. Messages read from /dev/log carry no
// HOSTNAME: the token after the timestamp is then already the tag ("myapp:" or
// "myapp[12]"); a Cisco "%FAC-SEV-MNEM:" right after the timestamp is the tag
// too. FortiOS's "date=... time=... devname=..." key=value lines are read by
// their own rule: time from date/time/tz, HOSTNAME from devname, the whole
// key=value text as MSG.
//
// Nothing here fails: what does not fit a field stays in MSG, and the raw frame
// is the caller's. HOSTNAME, TAG and PID are taken only when they are printable
// US-ASCII, because proto3 `string` fields must hold valid UTF-8. Whenever the
// event time is not the message's own (no timestamp, one that cannot be read,
// an impossible date, an uptime), parse_error says so.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/syslog/legacy_timestamp.h"
#include "common/syslog/syslog_parser.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

constexpr int kMaxPri = 191;
constexpr size_t kMaxPriDigits = 3;
constexpr size_t kMaxSeqDigits = 10;
constexpr size_t kMaxHostname = 255;
constexpr size_t kMaxTag = 48;  // RFC 5424 APP-NAME limit, so the record can be re-exported
constexpr size_t kMaxProcId = 128;

constexpr std::string_view kNoTimestamp = "rfc3164: no timestamp; event time is the receive time";
constexpr std::string_view kUnreadableTimestamp =
    "rfc3164: unreadable timestamp; event time is the receive time";
constexpr std::string_view kInvalidDate =
    "rfc3164: timestamp is not a valid date; event time is the receive time";
constexpr std::string_view kUptime =
    "rfc3164: timestamp is the sender's uptime, not a date; event time is the receive time";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsPrintable(char c) { return c >= 33 && c <= 126; }

// "<PRI>" with 1-3 digits. A well-formed but out-of-range PRI is skipped and
// recorded as -1, so that it does not end up in front of the timestamp.
size_t ParsePri(std::string_view text, v1::Event* event) {
  if (text.empty() || text[0] != '<') return 0;
  size_t pos = 1;
  int value = 0;
  while (pos < text.size() && IsDigit(text[pos]) && pos <= kMaxPriDigits) {
    value = value * 10 + (text[pos++] - '0');
  }
  if (pos == 1 || pos >= text.size() || text[pos] != '>') return 0;
  if (value <= kMaxPri) event->set_pri(value);
  return pos + 1;
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

// A host name or address: printable, and without the ',' and '=' of the CSV
// and key=value bodies that follow some timestamps directly (PAN-OS without
// "Send Hostname in Syslog", FortiOS relayed by a BSD syslogd).
bool IsHostnameToken(std::string_view token) {
  return token.size() <= kMaxHostname && IsPrintableToken(token) &&
         token.find_first_of(",=") == std::string_view::npos;
}

// A token that can only be a tag: "myapp:" or "myapp[123]...".
bool LooksLikeTag(std::string_view token) {
  return !token.empty() && (token.back() == ':' || token.find('[') != std::string_view::npos);
}

// "TAG[PID]: MSG", "TAG: MSG", "TAG MSG"; anything else is all MSG. A tag has
// no ',' or '=': "1,2019/07/14" (PAN-OS CSV) and "date=..." are not programs.
void ParseTagAndMsg(std::string_view text, v1::Event* event) {
  size_t tag_len = 0;
  while (tag_len < text.size() && IsPrintable(text[tag_len]) && text[tag_len] != '[' &&
         text[tag_len] != ':' && text[tag_len] != ',' && text[tag_len] != '=') {
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
  if (pos < text.size() && text[pos] == ':') ++pos;
  if (pos < text.size() && text[pos] == ' ') ++pos;
  event->set_msg(std::string(text.substr(pos)));
}

// A tag if the first token looks like one, else all MSG (no HOSTNAME can be told apart).
void ParseObviousTagAndMsg(std::string_view text, v1::Event* event) {
  if (LooksLikeTag(FirstToken(text))) {
    ParseTagAndMsg(text, event);
  } else {
    event->set_msg(std::string(text));
  }
}

// Drops the NUL, CR and LF trailers that some senders and framers leave.
std::string_view TrimTrailers(std::string_view text) {
  while (!text.empty() && (text.back() == '\0' || text.back() == '\r' || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

// What Cisco puts before its timestamp can end at: a timestamp (uptimes
// included) or, with `no service timestamps`, the tag itself.
bool StartsCiscoBody(std::string_view text) {
  LegacyTimestamp ignored;
  return ReadLegacyTimestamp(text, &ignored) || CiscoTagLength(text) != 0;
}

// Skips Cisco's "SEQ: " (IOS `service sequence-numbers`; ": " alone on NX-OS
// 9.3) and "ORIGIN: " (`logging origin-id`, a name or an address) when a
// timestamp or a Cisco tag follows them; sets *origin. Returns `text` unchanged
// otherwise, so that "<13>12: hello" stays as it was.
std::string_view SkipCiscoPrefixes(std::string_view text, std::string_view* origin) {
  size_t digits = 0;
  while (digits < text.size() && digits <= kMaxSeqDigits && IsDigit(text[digits])) ++digits;
  std::string_view body = text;
  if (digits <= kMaxSeqDigits && text.substr(digits, 2) == ": ") {
    body = SkipSpaces(text.substr(digits + 2));
  }
  if (body.size() != text.size() && StartsCiscoBody(body)) return body;
  const size_t colon = body.find(": ");
  if (colon == std::string_view::npos) return text;
  const std::string_view host = body.substr(0, colon);
  const std::string_view after = SkipSpaces(body.substr(colon + 2));
  if (!IsHostnameToken(host) || host[0] == '%' || !StartsCiscoBody(after)) return text;
  *origin = host;
  return after;
}

// Stores the timestamp's text and, when it names a time, the event time; sets
// parse_error when it does not.
void StoreTimestamp(std::string_view text, const LegacyTimestamp& ts, int64_t receive_time_us,
                    v1::Event* event) {
  event->set_timestamp_text(std::string(text.substr(0, ts.length)));
  if (ts.kind == LegacyTimestamp::Kind::kUptime) {
    event->set_parse_error(std::string(kUptime));
    return;
  }
  int64_t utc_us = 0;
  int offset_min = 0;
  if (!ResolveLegacyTime(ts, receive_time_us, &utc_us, &offset_min)) {
    event->set_parse_error(std::string(kInvalidDate));
    return;
  }
  event->set_event_time_us(utc_us);
  event->set_event_tz_offset_min(offset_min);
  // Without a zone the sender's local time was read as UTC, without a year the
  // year was chosen: either is a guess.
  event->set_event_time_inferred(!ts.has_zone || !ts.has_year);
}

// The value of `key` in FortiOS's `key=value key="value"` text, or "".
std::string_view KeyValue(std::string_view text, std::string_view key) {
  for (size_t at = text.find(key); at != std::string_view::npos; at = text.find(key, at + 1)) {
    const size_t eq = at + key.size();
    if ((at != 0 && text[at - 1] != ' ') || eq >= text.size() || text[eq] != '=') continue;
    std::string_view value = text.substr(eq + 1);
    if (!value.empty() && value[0] == '"') {
      const size_t close = value.find('"', 1);
      return close == std::string_view::npos ? std::string_view() : value.substr(1, close - 1);
    }
    return FirstToken(value);
  }
  return {};
}

// FortiOS: "date=YYYY-MM-DD time=hh:mm:ss devname=NAME ... tz=+hhmm ...". The
// key=value text is one record, so MSG keeps all of it, date and time included.
bool ParseFortiosLine(std::string_view text, int64_t receive_time_us, v1::Event* event) {
  LegacyTimestamp ts;
  if (!ReadFortiosTimestamp(text, KeyValue(text, "tz"), &ts)) return false;
  StoreTimestamp(text, ts, receive_time_us, event);
  const std::string_view devname = KeyValue(text, "devname");
  if (IsHostnameToken(devname)) event->set_hostname(std::string(devname));
  event->set_msg(std::string(text));
  return true;
}

// HOSTNAME (unless the text starts with a tag) and TAG after the timestamp.
void ParseHostTagAndMsg(std::string_view rest, v1::Event* event) {
  if (CiscoTagLength(rest) == 0) {
    const std::string_view host = FirstToken(rest);
    std::string_view after = SkipSpaces(rest.substr(host.size()));
    if (host.size() > 1 && host.back() == ':' && CiscoTagLength(after) != 0 &&
        IsHostnameToken(host.substr(0, host.size() - 1))) {
      // ASA with `logging device-id`: "HOST: %ASA-..."
      event->set_hostname(std::string(host.substr(0, host.size() - 1)));
      rest = after;
    } else if (!LooksLikeTag(host)) {
      if (!IsHostnameToken(host)) {
        event->set_msg(std::string(rest));
        return;
      }
      event->set_hostname(std::string(host));
      // ASA writes "HOST : %ASA-..." too.
      if (after.substr(0, 2) == ": " && CiscoTagLength(SkipSpaces(after.substr(2))) != 0) {
        after = SkipSpaces(after.substr(2));
      }
      rest = after;
    }
  }
  ParseTagAndMsg(rest, event);
}

}  // namespace

void ParseRfc3164(std::string_view frame, int64_t receive_time_us, v1::Event* event) {
  ResetParsedFields(v1::FORMAT_RFC3164, receive_time_us, event);
  event->clear_parse_error();
  std::string_view rest = TrimTrailers(frame);
  rest.remove_prefix(ParsePri(rest, event));
  if (ParseFortiosLine(rest, receive_time_us, event)) return;

  // Some senders put a space after PRI, Cisco its sequence number and origin:
  // skip them only if a timestamp or a Cisco tag follows, so that a
  // timestamp-less MSG keeps its leading spaces.
  LegacyTimestamp ts;
  bool has_timestamp = ReadLegacyTimestamp(rest, &ts);
  std::string_view origin;
  if (!has_timestamp) {
    const std::string_view trimmed = SkipSpaces(rest);
    const std::string_view body = SkipCiscoPrefixes(trimmed, &origin);
    has_timestamp = ReadLegacyTimestamp(body, &ts);
    if (has_timestamp || body.size() != trimmed.size()) rest = body;
  }
  if (!origin.empty()) event->set_hostname(std::string(origin));
  if (!has_timestamp) {
    // RFC 3164 4.3.2: without a TIMESTAMP the rest is CONTENT; a relay would
    // add HOSTNAME itself. Still take an obvious "tag:" or "tag[pid]".
    event->set_parse_error(
        std::string(LooksLikeTimestamp(rest) ? kUnreadableTimestamp : kNoTimestamp));
    ParseObviousTagAndMsg(rest, event);
    return;
  }
  StoreTimestamp(rest, ts, receive_time_us, event);
  rest = rest.substr(ts.length);
  if (!rest.empty() && rest[0] == ':') rest.remove_prefix(1);  // Cisco's "14:45:21: "
  rest = SkipSpaces(rest);
  if (!origin.empty()) {
    ParseObviousTagAndMsg(rest, event);  // Cisco named the host before the time
  } else {
    ParseHostTagAndMsg(rest, event);
  }
}

}  // namespace trailkeep
