// Event -> the export formats of GET /v1/events (docs/api.md, "Formats").
//
//   ndjson   EventToJson (docs/event-schema.md), one object per line
//   cef      ArcSight CEF:0, one event per line (mapping in docs/api.md)
//   rfc5424  the raw message exactly as received, octet-counted as in
//            RFC 6587 / RFC 5425 ("LEN SP MSG"), no separator
//
// Pure code. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

enum class ExportFormat { kNdjson, kCef, kRfc5424 };

std::optional<ExportFormat> ParseExportFormat(std::string_view name);
const char* ExportContentType(ExportFormat format);

// Appends `event` in `format` to *out, with its line terminator (LF for
// ndjson and cef; none for octet-counted rfc5424). `seal_proof`: NDJSON lines
// carry the seal proof (EventToJson).
void AppendExportedEvent(ExportFormat format, const v1::Event& event, std::string* out,
                         bool seal_proof = false);

// CEF text escaping. Header fields: '\' and '|' take a backslash, CR/LF become
// spaces. Extension values: '\' and '=' take a backslash, LF -> "\n", CR -> "\r".
std::string CefEscapeHeader(std::string_view text);
std::string CefEscapeExtension(std::string_view text);
// Syslog severity 0 (emerg) .. 7 (debug) -> CEF severity 10 .. 1; -1 -> 3.
int CefSeverity(int syslog_severity);
std::string EventToCef(const v1::Event& event);

}  // namespace trailkeep
