#include "server/sinks/export_request.h"

#include <algorithm>
#include <charconv>

#include "common/base/time_format.h"

namespace trailkeep {
namespace {

constexpr size_t kMaxParams = 32;
constexpr size_t kMaxValueBytes = 1024;

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// hostname_mismatch=true|false: the mark of legacy senders whose
// certificate does not speak for their host.
Status ParseMismatchParam(const std::string& value, std::optional<bool>* out) {
  if (value != "true" && value != "false")
    return Status::InvalidArgument("hostname_mismatch must be true or false");
  *out = value == "true";
  return Status::Ok();
}

// host, ref, q and hostname_mismatch: the match filters /v1/events and
// /v1/tail share. Returns false when `key` is none of them; *bad is set when
// it is one with a bad value.
bool ApplyMatchParam(const std::string& key, const std::string& value, EventFilter* filter,
                     Status* bad) {
  if (key == "host") {
    filter->host = value;
  } else if (key == "ref") {
    filter->ref = value;
  } else if (key == "q") {
    filter->text = value;
  } else if (key == "hostname_mismatch") {
    *bad = ParseMismatchParam(value, &filter->hostname_mismatch);
  } else {
    return false;
  }
  return true;
}

Result<std::string> Decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      const int hi = i + 1 < s.size() ? HexVal(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? HexVal(s[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return Status::InvalidArgument("bad percent escape in the query string");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool ParseU64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

Status ParseCursor(const std::string& value, uint64_t* cursor) {
  if (ParseU64(value, cursor)) return Status::Ok();
  return Status::InvalidArgument("cursor '" + value +
                                 "' is not a cursor (a decimal ingest_seq, 0 = start)");
}

Status ParseTimeParam(const std::string& key, const std::string& value, int64_t now_us,
                      int64_t* out) {
  auto t = ParseTimeArg(value, now_us);
  if (!t) {
    return Status::InvalidArgument(key + " '" + value +
                                   "' is neither RFC 3339 nor a duration like 15m, 2h, 7d");
  }
  *out = *t;
  return Status::Ok();
}

}  // namespace

Result<QueryParams> ParseQueryString(std::string_view query) {
  QueryParams out;
  size_t start = 0;
  while (start < query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view part = query.substr(start, end - start);
    start = end + 1;
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    auto key = Decode(part.substr(0, eq));
    if (!key.ok()) return key.status();
    auto value = Decode(eq == std::string_view::npos ? "" : part.substr(eq + 1));
    if (!value.ok()) return value.status();
    if (value.value().size() > kMaxValueBytes) {
      return Status::InvalidArgument("parameter '" + key.value() + "' is longer than " +
                                     std::to_string(kMaxValueBytes) + " bytes");
    }
    if (out.count(key.value())) {
      return Status::InvalidArgument("parameter '" + key.value() + "' given twice");
    }
    if (out.size() >= kMaxParams) return Status::InvalidArgument("too many parameters");
    out.emplace(std::move(key).value(), std::move(value).value());
  }
  return out;
}

Result<EventsRequest> ParseEventsRequest(const QueryParams& params, int64_t now_us,
                                         uint64_t default_limit, uint64_t max_limit) {
  EventsRequest r;
  r.limit = default_limit;
  for (const auto& [k, v] : params) {
    if (!r.filter_text.empty()) r.filter_text += ' ';
    r.filter_text += k + "=" + v;
    if (k == "cursor") {
      if (Status s = ParseCursor(v, &r.cursor); !s.ok()) return s;
    } else if (k == "limit") {
      if (!ParseU64(v, &r.limit) || r.limit == 0) {
        return Status::InvalidArgument("limit must be an integer from 1 to " +
                                       std::to_string(max_limit));
      }
      if (r.limit > max_limit) {
        return Status::InvalidArgument("limit " + v + " is above the maximum of " +
                                       std::to_string(max_limit));
      }
    } else if (Status bad; ApplyMatchParam(k, v, &r.filter, &bad)) {
      if (!bad.ok()) return bad;
    } else if (k == "since" || k == "until") {
      Status s =
          ParseTimeParam(k, v, now_us, k == "since" ? &r.filter.since_us : &r.filter.until_us);
      if (!s.ok()) return s;
    } else if (k == "format") {
      auto f = ParseExportFormat(v);
      if (!f) return Status::InvalidArgument("format must be ndjson, cef or rfc5424");
      r.format = *f;
    } else if (k == "seal_proof") {
      if (v != "true" && v != "false")
        return Status::InvalidArgument("seal_proof must be true or false");
      r.seal_proof = v == "true";
    } else {
      return Status::InvalidArgument("unknown parameter '" + k +
                                     "' (cursor, host, ref, since, until, q, hostname_mismatch, "
                                     "limit, format, seal_proof are known)");
    }
  }
  if (r.seal_proof && r.format != ExportFormat::kNdjson)
    return Status::InvalidArgument("seal_proof is a member of NDJSON lines: use format=ndjson");
  return r;
}

Status CheckCursorInStore(uint64_t cursor, uint64_t last_seq) {
  if (cursor <= last_seq) return Status::Ok();
  return Status::InvalidArgument("cursor " + std::to_string(cursor) +
                                 " is beyond the end of this store (its last ingest_seq is " +
                                 std::to_string(last_seq) +
                                 "): not a cursor of this collector, or one from before the store "
                                 "was restored from a backup; start again from a cursor up to " +
                                 std::to_string(last_seq));
}

Result<TailRequest> ParseTailRequest(const QueryParams& params, uint64_t max_backlog) {
  TailRequest r;
  for (const auto& [k, v] : params) {
    if (!r.filter_text.empty()) r.filter_text += ' ';
    r.filter_text += k + "=" + v;
    if (k == "cursor") {
      if (Status s = ParseCursor(v, &r.cursor); !s.ok()) return s;
      r.has_cursor = true;
    } else if (k == "backlog") {
      if (!ParseU64(v, &r.backlog) || r.backlog > max_backlog) {
        return Status::InvalidArgument("backlog must be an integer from 0 to " +
                                       std::to_string(max_backlog));
      }
    } else if (Status bad; !ApplyMatchParam(k, v, &r.filter, &bad)) {
      return Status::InvalidArgument(
          "unknown parameter '" + k +
          "' (host, ref, q, hostname_mismatch, backlog, cursor are known)");
    } else if (!bad.ok()) {
      return bad;
    }
  }
  return r;
}

Result<IntegrityRequest> ParseIntegrityRequest(const QueryParams& params, int64_t now_us,
                                               uint64_t default_limit, uint64_t max_limit) {
  IntegrityRequest r;
  r.limit = default_limit;
  for (const auto& [k, v] : params) {
    if (!r.filter_text.empty()) r.filter_text += ' ';
    r.filter_text += k + "=" + v;
    if (k == "since" || k == "until") {
      Status s = ParseTimeParam(k, v, now_us, k == "since" ? &r.since_us : &r.until_us);
      if (!s.ok()) return s;
    } else if (k == "host") {
      r.host = v;
    } else if (k == "kind") {
      r.kind = v;
    } else if (k == "limit") {
      if (!ParseU64(v, &r.limit) || r.limit == 0 || r.limit > max_limit) {
        return Status::InvalidArgument("limit must be an integer from 1 to " +
                                       std::to_string(max_limit));
      }
    } else if (k == "format") {
      if (v != "json" && v != "ndjson")
        return Status::InvalidArgument("format must be json or ndjson");
      r.ndjson = v == "ndjson";
    } else {
      return Status::InvalidArgument("unknown parameter '" + k +
                                     "' (since, until, host, kind, limit, format are known)");
    }
  }
  if (!params.count("since")) {
    return Status::InvalidArgument("since is required (RFC 3339 or a duration like 24h, 7d)");
  }
  return r;
}

Result<ReportRequest> ParseReportRequest(const std::string& name, const QueryParams& params,
                                         int64_t now_us, uint64_t max_limit) {
  const auto& names = ReportNames();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    return Status::NotFound("no report '" + name + "' (" + known + ")");
  }
  ReportRequest r;
  r.options.name = name;
  r.filter_text = name;
  for (const auto& [k, v] : params) {
    r.filter_text += " " + k + "=" + v;
    if (k == "since" || k == "until") {
      Status s =
          ParseTimeParam(k, v, now_us, k == "since" ? &r.options.since_us : &r.options.until_us);
      if (!s.ok()) return s;
    } else if (k == "host") {
      r.options.host = v;
    } else if (k == "failed") {
      if (v != "true" && v != "false")
        return Status::InvalidArgument("failed must be true or false");
      r.options.failed_only = v == "true";
    } else if (k == "hostname_mismatch") {
      if (Status s = ParseMismatchParam(v, &r.options.hostname_mismatch); !s.ok()) return s;
    } else if (k == "limit") {
      uint64_t limit = 0;
      if (!ParseU64(v, &limit) || limit == 0 || limit > max_limit) {
        return Status::InvalidArgument("limit must be an integer from 1 to " +
                                       std::to_string(max_limit));
      }
      r.options.max_rows = static_cast<size_t>(limit);
    } else if (k == "format") {
      if (v != "json" && v != "text") return Status::InvalidArgument("format must be json or text");
      r.json = v == "json";
    } else {
      return Status::InvalidArgument(
          "unknown parameter '" + k +
          "' (since, until, host, failed, hostname_mismatch, limit, format are known)");
    }
  }
  return r;
}

Result<std::string> ParseVerifyRequest(const QueryParams& params) {
  std::string host;
  for (const auto& [k, v] : params) {
    if (k != "host")
      return Status::InvalidArgument("unknown parameter '" + k + "' (host is known)");
    host = v;
  }
  if (host.empty()) return Status::InvalidArgument("host is required: GET /v1/verify?host=NAME");
  if (host.find_first_of("*?[") != std::string::npos) {
    return Status::InvalidArgument("host names one host; patterns are not allowed here");
  }
  return host;
}

std::string RedactTarget(std::string_view target) {
  // Every parameter name an endpoint defines: their values are filters, not secrets.
  static constexpr std::string_view kKnown[] = {
      "cursor",    "host",   "ref",  "since",  "until",   "q",
      "limit",     "format", "kind", "failed", "backlog", "hostname_mismatch",
      "seal_proof"};
  // Names under which clients commonly put credentials: kept, so the record
  // says what was tried; any other name might itself be a secret.
  static constexpr std::string_view kCredentialNames[] = {
      "access_token", "token", "api_key", "apikey", "key", "password", "secret", "auth"};
  const auto in = [](const auto& list, std::string_view name) {
    return std::find(std::begin(list), std::end(list), name) != std::end(list);
  };
  const size_t qpos = target.find('?');
  std::string out(target.substr(0, qpos));
  if (qpos == std::string_view::npos) return out;
  out += '?';
  const std::string_view query = target.substr(qpos + 1);
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view part = query.substr(start, end - start);
    if (start > 0) out += '&';
    start = end + 1;
    const size_t eq = part.find('=');
    const std::string_view name = part.substr(0, eq);
    if (in(kKnown, name)) {
      out += part;
    } else if (eq != std::string_view::npos && in(kCredentialNames, name)) {
      out += std::string(name) + "=REDACTED";
    } else if (!part.empty()) {
      out += "REDACTED";
    }
  }
  return out;
}

}  // namespace trailkeep
