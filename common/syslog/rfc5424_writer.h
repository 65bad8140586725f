// Rfc5424Writer: the one writer of RFC 5424 messages (the agent's events and
// heartbeats, the collector's own audit events). Pure code, no I/O.
//
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [SP MSG]
//
// Appends left to right to a string. What it writes always parses back
// (common/syslog/syslog_parser.h) to the same fields:
//   - header fields are fitted by FitHeaderField: printable US-ASCII but '"'
//     (others become '_'), cut to RFC 5424's length, "-" when empty; no quote
//     in the header leaves PARAM-VALUEs the only quoted text before MSG, where
//     the HMAC chain looks for its m="" (common/wire/hmac_chain.h);
//   - SD-IDs and PARAM-NAMEs are fitted by FitSdName: printable US-ASCII but
//     '=', SP, ']' and '"' (others become '_'), 1 to 32 bytes;
//   - PARAM-VALUEs are escaped by AppendSdParamValue ('"', '\' and ']' take a
//     backslash, section 6.3.3); any other byte, UTF-8 or not, is kept;
//   - SD is "-" when no element is written.
// The octet-counted frame of a message (RFC 5425, RFC 6587) is
// AppendOctetCounted, beside its decoder in common/wire/octet_framer.h.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace trailkeep {

// RFC 5424 section 6: the longest header fields and SD names.
inline constexpr size_t kMaxHostnameBytes = 255;
inline constexpr size_t kMaxAppNameBytes = 48;
inline constexpr size_t kMaxProcidBytes = 128;
inline constexpr size_t kMaxMsgidBytes = 32;
inline constexpr size_t kMaxSdNameBytes = 32;

std::string FitHeaderField(std::string_view value, size_t max_bytes);
std::string FitSdName(std::string_view name);
void AppendSdParamValue(std::string_view value, std::string* out);

// Structured data alone: "[ID NAME="VALUE" ...][ID2 ...]" appended to *out.
class SdWriter {
 public:
  explicit SdWriter(std::string* out) : out_(out) {}
  // Starts an element, closing the open one.
  SdWriter& Element(std::string_view sd_id);
  // One parameter of the open element (call Element first).
  SdWriter& Param(std::string_view name, std::string_view value);
  // Elements already serialized (by an SdWriter, or the chain's element),
  // appended as they are after closing the open one.
  SdWriter& Serialized(std::string_view elements);
  // Closes the open element. True when anything was written.
  bool Close();

 private:
  std::string* out_;
  bool open_ = false;
  bool written_ = false;
};

struct Rfc5424Header {
  int pri = 13;                // facility * 8 + severity
  std::string_view timestamp;  // RFC 3339 text (time_format.h), or "-"
  std::string_view hostname;   // each of these four fitted, "-" when empty
  std::string_view app_name;
  std::string_view procid;
  std::string_view msgid;
};

// A whole message: the header at construction, then elements, then Msg() or
// End() once.
class Rfc5424Writer {
 public:
  Rfc5424Writer(std::string* out, const Rfc5424Header& header);

  Rfc5424Writer& Element(std::string_view sd_id) {
    sd_.Element(sd_id);
    return *this;
  }
  Rfc5424Writer& Param(std::string_view name, std::string_view value) {
    sd_.Param(name, value);
    return *this;
  }
  Rfc5424Writer& Serialized(std::string_view elements) {
    sd_.Serialized(elements);
    return *this;
  }
  // Ends the structured data and appends SP MSG (even when `msg` is empty).
  void Msg(std::string_view msg);
  // Ends the structured data: a message without MSG.
  void End();

 private:
  std::string* out_;
  SdWriter sd_;
};

}  // namespace trailkeep
