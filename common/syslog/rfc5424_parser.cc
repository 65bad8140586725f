// Strict RFC 5424 parsing (docs/formats/syslog.md, 'RFC 5424').
//
// The parser walks the frame once, left to right, and stores each field in the
// Event as soon as it is valid, so a caller that falls back after an error still
// has everything before it. Every string field it fills is printable US-ASCII or
// validated UTF-8: proto3 refuses to parse a `string` holding invalid UTF-8, so a
// bad byte here would make the stored record unreadable later. MSG is `bytes`
// and is kept exactly as sent (minus BOM and one trailing LF).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "common/syslog/syslog_parser.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

constexpr int kMaxPri = 191;
constexpr size_t kMaxHostname = 255;
constexpr size_t kMaxAppName = 48;
constexpr size_t kMaxProcId = 128;
constexpr size_t kMaxMsgId = 32;
constexpr size_t kMaxSdName = 32;
constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// PRINTUSASCII: %d33-126.
bool IsPrintable(char c) { return c >= 33 && c <= 126; }

// SD-NAME excludes the characters that delimit it.
bool IsSdNameChar(char c) { return IsPrintable(c) && c != '=' && c != ']' && c != '"'; }

// Length of the UTF-8 sequence starting at `s[0]`, or 0 when it is malformed
// (overlong forms, surrogates and code points above U+10FFFF included).
size_t Utf8SequenceLength(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80;  // allowed range of the second byte
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) return 0;
  }
  return len;
}

bool IsValidUtf8(std::string_view s) {
  while (!s.empty()) {
    const size_t len = Utf8SequenceLength(s);
    if (len == 0) return false;
    s.remove_prefix(len);
  }
  return true;
}

class Rfc5424Parser {
 public:
  Rfc5424Parser(std::string_view frame, int64_t receive_time_us, v1::Event* event)
      : text_(frame), receive_time_us_(receive_time_us), event_(event) {}

  bool Parse(std::string* error);

 private:
  bool Fail(std::string why);
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }
  bool Expect(char c, std::string_view what);
  // Bytes from the cursor to the next SP (or the end); the cursor moves past them.
  std::string_view TakeToken();

  bool ParsePri();
  bool ParseVersion();
  bool ParseTimestamp();
  bool ParseHeaderField(std::string_view name, size_t max_len, std::string* out);
  bool ParseStructuredData();
  bool ParseSdElement(std::unordered_set<std::string>* seen_ids);
  bool ParseSdName(std::string_view what, std::string* out);
  bool ParseParamValue(std::string* out);
  void ParseMsg();

  std::string_view text_;
  size_t pos_ = 0;
  int64_t receive_time_us_;
  v1::Event* event_;
  std::string error_;
};

bool Rfc5424Parser::Fail(std::string why) {
  error_ = std::move(why) + " at byte " + std::to_string(pos_);
  return false;
}

bool Rfc5424Parser::Expect(char c, std::string_view what) {
  if (AtEnd() || Peek() != c) return Fail("expected " + std::string(what));
  ++pos_;
  return true;
}

std::string_view Rfc5424Parser::TakeToken() {
  const size_t start = pos_;
  while (!AtEnd() && Peek() != ' ') ++pos_;
  return text_.substr(start, pos_ - start);
}

bool Rfc5424Parser::Parse(std::string* error) {
  event_->set_format(v1::FORMAT_RFC5424);
  event_->set_pri(-1);
  event_->set_version(0);
  event_->clear_timestamp_text();
  event_->set_event_time_us(receive_time_us_);
  event_->set_event_time_inferred(true);
  event_->set_event_tz_offset_min(0);
  event_->clear_hostname();
  event_->clear_app_name();
  event_->clear_procid();
  event_->clear_msgid();
  event_->clear_structured_data();
  event_->clear_msg();
  event_->set_msg_has_bom(false);

  // rsyslog and loggen -P count a trailing LF as part of the message. MSG is
  // the last field, so dropping it here equals dropping it from MSG, and it
  // also lets a message without MSG end cleanly after STRUCTURED-DATA.
  if (!text_.empty() && text_.back() == '\n') text_.remove_suffix(1);

  const bool ok = ParsePri() && ParseVersion() && Expect(' ', "SP after VERSION") &&
                  ParseTimestamp() && Expect(' ', "SP after TIMESTAMP") &&
                  ParseHeaderField("HOSTNAME", kMaxHostname, event_->mutable_hostname()) &&
                  Expect(' ', "SP after HOSTNAME") &&
                  ParseHeaderField("APP-NAME", kMaxAppName, event_->mutable_app_name()) &&
                  Expect(' ', "SP after APP-NAME") &&
                  ParseHeaderField("PROCID", kMaxProcId, event_->mutable_procid()) &&
                  Expect(' ', "SP after PROCID") &&
                  ParseHeaderField("MSGID", kMaxMsgId, event_->mutable_msgid()) &&
                  Expect(' ', "SP after MSGID") && ParseStructuredData();
  if (!ok) {
    *error = error_;
    return false;
  }
  if (!AtEnd()) {
    if (Peek() != ' ') {
      Fail("expected SP or end after STRUCTURED-DATA");
      *error = error_;
      return false;
    }
    ++pos_;
    ParseMsg();
  }
  return true;
}

bool Rfc5424Parser::ParsePri() {
  if (!Expect('<', "'<' starting PRI")) return false;
  const size_t start = pos_;
  int value = 0;
  while (!AtEnd() && IsDigit(Peek()) && pos_ - start < 3) {
    value = value * 10 + (Peek() - '0');
    ++pos_;
  }
  const size_t digits = pos_ - start;
  if (digits == 0) return Fail("PRI has no digits");
  if (digits > 1 && text_[start] == '0') return Fail("PRI has a leading zero");
  if (!Expect('>', "'>' after 1-3 PRI digits")) return false;
  if (value > kMaxPri) return Fail("PRI " + std::to_string(value) + " is above 191");
  event_->set_pri(value);
  return true;
}

bool Rfc5424Parser::ParseVersion() {
  // VERSION = NONZERO-DIGIT 0*2DIGIT
  const size_t start = pos_;
  int value = 0;
  while (!AtEnd() && IsDigit(Peek()) && pos_ - start < 3) {
    value = value * 10 + (Peek() - '0');
    ++pos_;
  }
  if (pos_ == start || text_[start] == '0') return Fail("invalid VERSION");
  event_->set_version(value);
  return true;
}

bool Rfc5424Parser::ParseTimestamp() {
  const std::string_view token = TakeToken();
  if (token.empty()) return Fail("missing TIMESTAMP");
  if (token == "-") {
    // NILVALUE: the sender did not know its time; use ours and say so.
    event_->set_timestamp_text("-");
    return true;
  }
  int64_t utc_us = 0;
  int offset_min = 0;
  if (!ParseRfc3339(token, &utc_us, &offset_min)) {
    pos_ -= token.size();
    return Fail("TIMESTAMP is not an RFC 3339 time as RFC 5424 restricts it");
  }
  event_->set_timestamp_text(std::string(token));
  event_->set_event_time_us(utc_us);
  event_->set_event_time_inferred(false);
  event_->set_event_tz_offset_min(offset_min);
  return true;
}

bool Rfc5424Parser::ParseHeaderField(std::string_view name, size_t max_len, std::string* out) {
  const size_t start = pos_;
  const std::string_view token = TakeToken();
  if (token.empty()) return Fail("empty " + std::string(name));
  if (token.size() > max_len) {
    pos_ = start;
    return Fail(std::string(name) + " longer than " + std::to_string(max_len) + " octets");
  }
  for (size_t i = 0; i < token.size(); ++i) {
    if (!IsPrintable(token[i])) {
      pos_ = start + i;
      return Fail(std::string(name) + " has a byte outside printable US-ASCII");
    }
  }
  if (token != "-") out->assign(token);  // NILVALUE is stored as ""
  return true;
}

bool Rfc5424Parser::ParseStructuredData() {
  if (AtEnd()) return Fail("missing STRUCTURED-DATA");
  if (Peek() == '-') {
    ++pos_;
    return true;
  }
  if (Peek() != '[') return Fail("STRUCTURED-DATA is neither '-' nor '['");
  std::unordered_set<std::string> seen_ids;
  while (!AtEnd() && Peek() == '[') {
    if (!ParseSdElement(&seen_ids)) return false;
  }
  return true;
}

bool Rfc5424Parser::ParseSdElement(std::unordered_set<std::string>* seen_ids) {
  ++pos_;  // '['
  const size_t id_pos = pos_;
  v1::SdElement* element = event_->add_structured_data();
  if (!ParseSdName("SD-ID", element->mutable_id())) return false;
  if (!seen_ids->insert(element->id()).second) {
    pos_ = id_pos;
    return Fail("repeated SD-ID \"" + element->id() + "\"");
  }
  while (!AtEnd() && Peek() == ' ') {
    ++pos_;
    v1::SdParam* param = element->add_params();
    if (!ParseSdName("PARAM-NAME", param->mutable_name()) || !Expect('=', "'=' after PARAM-NAME") ||
        !Expect('"', "'\"' opening PARAM-VALUE") || !ParseParamValue(param->mutable_value())) {
      return false;
    }
  }
  return Expect(']', "']' closing SD-ELEMENT");
}

bool Rfc5424Parser::ParseSdName(std::string_view what, std::string* out) {
  const size_t start = pos_;
  while (!AtEnd() && IsSdNameChar(Peek())) ++pos_;
  const size_t len = pos_ - start;
  if (len == 0) return Fail("empty or invalid " + std::string(what));
  if (len > kMaxSdName) {
    pos_ = start;
    return Fail(std::string(what) + " longer than 32 octets");
  }
  out->assign(text_.substr(start, len));
  return true;
}

bool Rfc5424Parser::ParseParamValue(std::string* out) {
  // Built aside and stored only once valid: the event keeps no invalid UTF-8,
  // also after a failure (an unterminated value may end in any bytes).
  const size_t start = pos_;
  std::string value;
  while (true) {
    if (AtEnd()) return Fail("unterminated PARAM-VALUE");
    const char c = Peek();
    ++pos_;
    if (c == '"') break;
    if (c == '\\' && !AtEnd() && (Peek() == '"' || Peek() == '\\' || Peek() == ']')) {
      value.push_back(Peek());
      ++pos_;
      continue;
    }
    // Any other byte is kept, a backslash before an ordinary character too
    // (both bytes, as RFC 5424 section 6.3.3 says). An unescaped ']' is a
    // sender bug, but the closing quote still delimits the value unambiguously.
    value.push_back(c);
  }
  if (!IsValidUtf8(value)) {
    pos_ = start;
    return Fail("PARAM-VALUE is not valid UTF-8");
  }
  *out = std::move(value);
  return true;
}

void Rfc5424Parser::ParseMsg() {
  std::string_view msg = text_.substr(pos_);
  if (msg.substr(0, kBom.size()) == kBom) {
    msg.remove_prefix(kBom.size());
    event_->set_msg_has_bom(true);
  }
  event_->set_msg(std::string(msg));
  pos_ = text_.size();
}

}  // namespace

bool ParseRfc5424(std::string_view frame, int64_t receive_time_us, v1::Event* event,
                  std::string* error) {
  return Rfc5424Parser(frame, receive_time_us, event).Parse(error);
}

}  // namespace trailkeep
