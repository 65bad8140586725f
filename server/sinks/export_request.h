// Query strings of the HTTPS API: percent-decoding and the validated
// parameters of GET /v1/events. Pure code; errors are InvalidArgument with a
// message fit for a 400 body.
#pragma once

#include <climits>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "server/report/report.h"
#include "server/sinks/export_format.h"
#include "server/store/event_query.h"

namespace trailkeep {

using QueryParams = std::map<std::string, std::string>;

// "a=1&b=x%20y" -> {a: 1, b: "x y"}. '+' decodes to a space. Refuses bad
// percent escapes, repeated keys and more than 32 parameters.
Result<QueryParams> ParseQueryString(std::string_view query);

struct EventsRequest {
  uint64_t cursor = 0;  // exclusive: events with ingest_seq > cursor
  EventFilter filter;
  uint64_t limit = 1000;
  ExportFormat format = ExportFormat::kNdjson;
  bool seal_proof = false;  // NDJSON lines carry seal.stored_b64 (seal_proof.h)
  std::string filter_text;  // the filter as given, for the audit record
};

// Validates cursor, host, ref, since, until, q, hostname_mismatch (true |
// false), limit, format, seal_proof (true | false, ndjson only); refuses
// unknown parameters. `limit` above `max_limit` is an error, not clamped.
Result<EventsRequest> ParseEventsRequest(const QueryParams& params, int64_t now_us,
                                         uint64_t default_limit, uint64_t max_limit);

struct TailRequest {
  EventFilter filter;  // host, ref, q, hostname_mismatch (a tail has no time bounds)
  bool has_cursor = false;
  uint64_t cursor = 0;    // with has_cursor: everything after it, then live
  uint64_t backlog = 10;  // without: the last `backlog` matching events, then live
  std::string filter_text;
};

// Validates host, ref, q, hostname_mismatch, backlog (0..max_backlog), cursor; refuses unknown
// parameters.
// A cursor the store never handed out (from another collector, or from
// before a restore to an older backup): InvalidArgument naming the store's
// last ingest_seq, so a SIEM does not wait forever for events it already
// missed; Ok for any cursor up to `last_seq`.
Status CheckCursorInStore(uint64_t cursor, uint64_t last_seq);

Result<TailRequest> ParseTailRequest(const QueryParams& params, uint64_t max_backlog);

struct IntegrityRequest {
  int64_t since_us = INT64_MIN;  // detection time, inclusive (required)
  int64_t until_us = INT64_MAX;  // inclusive
  std::string host;              // glob, "" = any
  std::string kind;              // gap, bad_mac, ... "" = any
  uint64_t limit = 1000;
  bool ndjson = false;  // else one JSON object
  std::string filter_text;
};

// GET /v1/integrity: since (required), until, host, kind, limit
// (1..max_limit), format (json | ndjson); refuses unknown parameters.
Result<IntegrityRequest> ParseIntegrityRequest(const QueryParams& params, int64_t now_us,
                                               uint64_t default_limit, uint64_t max_limit);

struct ReportRequest {
  ReportOptions options;
  bool json = true;  // else the text table of `trailkeepd report`
  std::string filter_text;
};

// GET /v1/report/NAME (server/report/report.h names): since, until, host,
// failed (true | false, auth only), hostname_mismatch (true | false), limit (rows, 1..max_limit),
// format (json | text); refuses unknown names and parameters.
Result<ReportRequest> ParseReportRequest(const std::string& name, const QueryParams& params,
                                         int64_t now_us, uint64_t max_limit);

// GET /v1/verify: the one host named by `host` (required, no pattern).
Result<std::string> ParseVerifyRequest(const QueryParams& params);

// A request target fit for a stored record or a log line: the path, and the
// query with the value of every parameter the API does not define replaced
// by "REDACTED" (a client that puts `access_token=...` or any other secret in
// the URL must not have it stored where export tokens can read it); a
// component without '=' that is not a known name becomes "REDACTED" too.
// Works on the raw text, so it also covers queries that do not parse.
std::string RedactTarget(std::string_view target);

}  // namespace trailkeep
