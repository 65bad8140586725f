#include "server/sinks/export_format.h"

#include "common/event/event_format.h"
#include "common/wire/octet_framer.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

constexpr size_t kCefNameMax = 128;

// Cuts to at most `max` bytes without splitting a UTF-8 sequence.
std::string_view CutUtf8(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

}  // namespace

std::optional<ExportFormat> ParseExportFormat(std::string_view name) {
  if (name == "ndjson" || name == "json") return ExportFormat::kNdjson;
  if (name == "cef") return ExportFormat::kCef;
  if (name == "rfc5424") return ExportFormat::kRfc5424;
  return std::nullopt;
}

const char* ExportContentType(ExportFormat format) {
  switch (format) {
    case ExportFormat::kNdjson:
      return "application/x-ndjson";
    case ExportFormat::kCef:
      return "text/plain; charset=utf-8";
    case ExportFormat::kRfc5424:
      return "application/octet-stream";
  }
  return "application/octet-stream";
}

std::string CefEscapeHeader(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || c == '|') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n' || c == '\r') {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string CefEscapeExtension(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || c == '=') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

int CefSeverity(int syslog_severity) {
  static const int kMap[8] = {10, 9, 8, 7, 5, 3, 2, 1};
  return syslog_severity >= 0 && syslog_severity < 8 ? kMap[syslog_severity] : 3;
}

std::string EventToCef(const v1::Event& e) {
  const int sev = e.pri() >= 0 ? e.pri() % 8 : -1;
  std::string signature = !e.ndcpp_refs().empty()                  ? e.ndcpp_refs(0)
                          : !e.msgid().empty() && e.msgid() != "-" ? e.msgid()
                                                                   : "syslog";
  std::string name = std::string(CutUtf8(e.msg(), kCefNameMax));
  if (name.empty()) name = e.app_name().empty() ? "event" : e.app_name();
  std::string out = "CEF:0|trailkeep|trailkeepd|1|" + CefEscapeHeader(signature) + "|" +
                    CefEscapeHeader(name) + "|" + std::to_string(CefSeverity(sev)) + "|";
  bool first = true;
  auto kv = [&](const char* key, std::string_view value) {
    if (value.empty()) return;
    if (!first) out.push_back(' ');
    first = false;
    out += key;
    out.push_back('=');
    out += CefEscapeExtension(value);
  };
  kv("externalId", std::to_string(e.ingest_seq()));
  kv("rt", std::to_string(e.receive_time_us() / 1000));
  kv("end", std::to_string(e.event_time_us() / 1000));
  kv("dvchost", e.host());
  if (!e.hostname().empty() && e.hostname() != "-") kv("shost", e.hostname());
  kv("src", [&] {
    // "ip:port" / "[v6]:port" -> ip
    const std::string& a = e.peer().address();
    if (!a.empty() && a.front() == '[') return a.substr(1, a.find(']') - 1);
    return a.substr(0, a.rfind(':'));
  }());
  if (e.app_name() != "-") kv("dproc", e.app_name());
  if (e.procid() != "-") kv("dvcpid", e.procid());
  if (e.pri() >= 0) kv("deviceFacility", FacilityName(e.pri() / 8));
  std::string refs;
  for (const auto& r : e.ndcpp_refs()) refs += (refs.empty() ? "" : ",") + r;
  if (!refs.empty()) {
    kv("cs1Label", "ndcppRefs");
    kv("cs1", refs);
  }
  kv("cs2Label", "integrity");
  kv("cs2", IntegrityName(e.integrity()));
  if (e.peer().authenticated()) {
    kv("cs3Label", "peerCertSubject");
    kv("cs3", e.peer().cert_subject());
  }
  if (e.hostname_mismatch()) {
    // The sender's certificate does not speak for dvchost (hostname_binding).
    kv("cs4Label", "hostnameMismatchSender");
    kv("cs4", e.sender_identity());
  }
  kv("msg", e.msg());
  return out;
}

void AppendExportedEvent(ExportFormat format, const v1::Event& e, std::string* out,
                         bool seal_proof) {
  switch (format) {
    case ExportFormat::kNdjson:
      AppendEventJson(e, seal_proof, out);
      out->push_back('\n');
      return;
    case ExportFormat::kCef:
      *out += EventToCef(e);
      out->push_back('\n');
      return;
    case ExportFormat::kRfc5424:
      AppendOctetCounted(e.raw(), out);
      return;
  }
}

}  // namespace trailkeep
