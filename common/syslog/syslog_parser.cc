// Format selection and fallback (docs/formats/syslog.md, 'Format selection').
//
// Outcomes, by what the frame turns out to be:
//   "<PRI>1 " + valid RFC 5424         FORMAT_RFC5424, parse_error ""
//   "<PRI>1 " + broken RFC 5424        FORMAT_RFC5424 read leniently (see
//                                      ParseRfc5424Leniently), parse_error says why
//   "<PRI>1 " + no RFC 5424 header     FORMAT_UNPARSED, parse_error says why
//   anything with a PRI or timestamp   FORMAT_RFC3164
//   no PRI and no timestamp            FORMAT_UNPARSED: with neither anchor,
//                                      splitting host and tag off arbitrary text
//                                      would invent fields, so only MSG is kept
// FORMAT_UNPARSED records carry the whole frame as MSG and the receive time as
// an inferred event time; every other field is empty (pri -1).

#include "common/syslog/syslog_parser.h"

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

constexpr int kMaxPri = 191;
constexpr size_t kHeaderTokens = 5;  // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsPrintableAscii(std::string_view token) {
  for (char c : token) {
    if (c < 33 || c > 126) return false;
  }
  return true;
}

// Length of "<" 1*3DIGIT ">" at the start of `frame`, or 0.
size_t PriLength(std::string_view frame) {
  if (frame.empty() || frame[0] != '<') return 0;
  size_t pos = 1;
  while (pos < frame.size() && pos <= 3 && IsDigit(frame[pos])) ++pos;
  if (pos == 1 || pos >= frame.size() || frame[pos] != '>') return 0;
  return pos + 1;
}

// The byte after PRI decides the grammar: "1" SP announces RFC 5424.
bool AnnouncesRfc5424(std::string_view frame) {
  const size_t pri_len = PriLength(frame);
  return pri_len != 0 && frame.substr(pri_len, 2) == "1 ";
}

void MarkUnparsed(std::string_view frame, int64_t receive_time_us, v1::Event* event) {
  ResetParsedFields(v1::FORMAT_UNPARSED, receive_time_us, event);
  event->set_msg(std::string(frame));
}

void SetMsg(std::string_view msg, v1::Event* event) {
  if (msg.substr(0, kBom.size()) == kBom) {
    msg.remove_prefix(kBom.size());
    event->set_msg_has_bom(true);
  }
  event->set_msg(std::string(msg));
}

// STRUCTURED-DATA [SP MSG] after a header that broke the strict grammar. The
// strict parser already knows structured data; running it on a frame with a
// NIL header keeps one implementation of the SD grammar and its escapes. When
// the SD does not parse either, it stays in MSG: nothing is dropped.
void ParseTailLeniently(std::string_view tail, int64_t receive_time_us, v1::Event* event) {
  if (!tail.empty() && tail[0] == '[') {
    const std::string nil_header = "<0>1 - - - - - " + std::string(tail);
    v1::Event sd_only;
    std::string ignored;
    if (ParseRfc5424(nil_header, receive_time_us, &sd_only, &ignored)) {
      event->mutable_structured_data()->Swap(sd_only.mutable_structured_data());
      event->set_msg(sd_only.msg());
      event->set_msg_has_bom(sd_only.msg_has_bom());
      return;
    }
  }
  if (!tail.empty() && tail.back() == '\n') tail.remove_suffix(1);  // as in strict MSG
  if (tail == "-") return;
  if (tail.substr(0, 2) == "- ") tail.remove_prefix(2);
  SetMsg(tail, event);  // MSG, or SD missing or malformed and kept as text
}

// Reads a frame that announced RFC 5424 but failed the strict grammar: PRI,
// five SP-separated header tokens, then structured data and MSG as well as they
// go. Returns false when even the header shape is missing (fewer than five
// tokens, or a first token that is not "-" and does not start like an RFC 3339
// date), which means the frame is not RFC 5424 at all.
bool ParseRfc5424Leniently(std::string_view frame, int64_t receive_time_us, v1::Event* event) {
  const size_t pri_len = PriLength(frame);
  std::string_view rest = frame.substr(pri_len + 2);  // after "<PRI>1 "

  std::string_view tokens[kHeaderTokens];
  for (std::string_view& token : tokens) {
    const size_t sp = rest.find(' ');
    if (sp == std::string_view::npos) return false;
    token = rest.substr(0, sp);
    rest.remove_prefix(sp + 1);
  }
  const std::string_view timestamp = tokens[0];
  const bool iso_like = timestamp.size() >= 5 && IsDigit(timestamp[0]) && IsDigit(timestamp[1]) &&
                        IsDigit(timestamp[2]) && IsDigit(timestamp[3]) && timestamp[4] == '-';
  if (timestamp != "-" && !(iso_like && IsPrintableAscii(timestamp))) return false;

  int pri = 0;
  for (size_t i = 1; i + 1 < pri_len; ++i) pri = pri * 10 + (frame[i] - '0');
  const bool pri_ok = pri <= kMaxPri && !(pri_len > 3 && frame[1] == '0');
  ResetParsedFields(v1::FORMAT_RFC5424, receive_time_us, event);
  event->set_pri(pri_ok ? pri : -1);
  event->set_version(1);
  event->set_timestamp_text(std::string(timestamp));
  int64_t utc_us = 0;
  int offset_min = 0;
  if (ParseRfc3339(timestamp, &utc_us, &offset_min)) {
    event->set_event_time_us(utc_us);
    event->set_event_time_inferred(false);
    event->set_event_tz_offset_min(offset_min);
  }
  // Over-long fields are kept whole (the error already says the message is
  // off-grammar); fields with bytes outside US-ASCII are left to the raw frame.
  std::string* const fields[] = {event->mutable_hostname(), event->mutable_app_name(),
                                 event->mutable_procid(), event->mutable_msgid()};
  for (size_t i = 0; i < std::size(fields); ++i) {
    const std::string_view token = tokens[i + 1];
    if (token != "-" && IsPrintableAscii(token)) fields[i]->assign(token);
  }
  ParseTailLeniently(rest, receive_time_us, event);
  return true;
}

}  // namespace

void ParseSyslog(std::string_view frame, int64_t receive_time_us, v1::Event* event) {
  event->clear_parse_error();
  if (AnnouncesRfc5424(frame)) {
    std::string error;
    if (ParseRfc5424(frame, receive_time_us, event, &error)) return;
    event->set_parse_error("rfc5424: " + error);
    if (!ParseRfc5424Leniently(frame, receive_time_us, event)) {
      MarkUnparsed(frame, receive_time_us, event);
    }
    return;
  }
  ParseRfc3164(frame, receive_time_us, event);
  if (event->pri() == -1 && event->timestamp_text().empty()) {
    MarkUnparsed(frame, receive_time_us, event);
    event->set_parse_error("unparsed: neither PRI nor timestamp");
  }
}

// Sets every field the parsers own to "absent"; time falls back to the receive time.
void ResetParsedFields(int format, int64_t receive_time_us, v1::Event* event) {
  event->set_format(static_cast<v1::SyntaxFormat>(format));
  event->set_pri(-1);
  event->set_version(0);
  event->clear_timestamp_text();
  event->set_event_time_us(receive_time_us);
  event->set_event_time_inferred(true);
  event->set_event_tz_offset_min(0);
  event->clear_hostname();
  event->clear_app_name();
  event->clear_procid();
  event->clear_msgid();
  event->clear_structured_data();
  event->clear_msg();
  event->set_msg_has_bom(false);
}

}  // namespace trailkeep
