#include "server/sinks/integrity_listing.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/base/glob.h"
#include "common/base/time_format.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

using json = nlohmann::json;

bool HostAllowed(const std::vector<std::string>& allowed, const std::string& host) {
  return allowed.empty() || std::any_of(allowed.begin(), allowed.end(),
                                        [&](const std::string& p) { return GlobMatch(p, host); });
}

}  // namespace

Result<IntegrityListing> ListIntegrity(const Store& store, const IntegrityRequest& req,
                                       const std::vector<std::string>& allowed_hosts) {
  // Integrity events sit under the last ingest_seq of their commit, so
  // everything detected at or after `since` lies after the first event
  // received then (or after the store's end). Two seqs of slack cover a
  // commit that held only integrity events; the time filter is exact.
  uint64_t after = 0;
  if (req.since_us != INT64_MIN) {
    auto first = store.SeqAtTime(req.since_us);
    if (!first.ok()) return first.status();
    const uint64_t from = first.value() > 0 ? first.value() : store.LastSeq();
    after = from > 2 ? from - 2 : 0;
  }
  IntegrityListing out;
  Status s = store.ScanIntegrity(after, [&](const v1::IntegrityEvent& ie) {
    if (ie.time_us() < req.since_us || ie.time_us() > req.until_us) return true;
    if (!req.host.empty() && !GlobMatch(req.host, ie.host())) return true;
    if (!req.kind.empty() && ie.kind() != req.kind) return true;
    if (!HostAllowed(allowed_hosts, ie.host())) return true;
    if (out.events.size() >= req.limit) {
      out.truncated = true;
      return false;
    }
    out.events.push_back(ie);
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

std::string IntegrityEventToJson(const v1::IntegrityEvent& e) {
  json j = {{"time", FormatRfc3339Micros(e.time_us())},
            {"host", e.host()},
            {"kind", e.kind()},
            {"epoch", std::to_string(e.epoch())},
            {"first_seq", e.first_seq()},
            {"last_seq", e.last_seq()},
            {"detail", e.detail()},
            {"ingest_seq", std::to_string(e.ingest_seq())}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string IntegrityListingBody(const IntegrityListing& listing, bool ndjson) {
  std::string body = ndjson ? "" : "{\"integrity\": [";
  for (size_t i = 0; i < listing.events.size(); ++i) {
    if (!ndjson && i > 0) body += ",";
    body += ndjson ? "" : "\n  ";
    body += IntegrityEventToJson(listing.events[i]);
    if (ndjson) body += "\n";
  }
  const std::string tail = "\"count\": " + std::to_string(listing.events.size()) +
                           ", \"truncated\": " + (listing.truncated ? "true" : "false");
  if (ndjson) return body + "{" + tail + "}\n";
  return body + (listing.events.empty() ? "" : "\n") + "], " + tail + "}\n";
}

}  // namespace trailkeep
