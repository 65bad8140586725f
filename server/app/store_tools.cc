#include "server/app/store_tools.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <vector>

#include "common/base/glob.h"
#include "common/base/time_format.h"
#include "common/event/event_format.h"
#include "server/store/event_query.h"
#include "server/store/expired_hosts.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

// Accepts the data folder (as given to --dev or data_dir) or the store itself.
std::string StorePath(const std::string& db) {
  namespace fs = std::filesystem;
  if (fs::exists(fs::path(db) / "store" / "CURRENT")) return (fs::path(db) / "store").string();
  if (fs::exists(fs::path(db) / "data" / "store" / "CURRENT")) {
    return (fs::path(db) / "data" / "store").string();
  }
  return db;
}

std::unique_ptr<Store> OpenForReading(const std::string& db) {
  auto opened = OpenRocksDbStore(StorePath(db), StoreMode::kSecondary);
  if (!opened.ok()) {
    std::cerr << "trailkeepd: " << opened.status().ToString() << "\n";
    return nullptr;
  }
  std::unique_ptr<Store> store = std::move(opened).value();
  // A read-only tool cannot record an integrity event; it says so and goes on.
  store->SetReadIssueHandler([](const StoreReadIssue& issue) {
    std::cerr << "trailkeepd: warning: " << issue.record << " " << issue.position
              << (issue.repaired ? " holds invalid UTF-8 in a text field; shown escaped\n"
                                 : " does not parse; skipped\n");
  });
  return store;
}

class Printer {
 public:
  Printer(const std::string& format, uint64_t limit) : json_(format == "json"), limit_(limit) {}
  // Returns false once the limit is reached.
  bool Print(const v1::Event& e) {
    const std::string line = json_ ? EventToJson(e) : EventToText(e);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    ++printed_;
    return limit_ == 0 || printed_ < limit_;
  }

 private:
  bool json_;
  uint64_t limit_;
  uint64_t printed_ = 0;
};

// "-" for a host that sent nothing yet (a tunnel node before its first record).
std::string SeenTime(int64_t us) { return us != 0 ? FormatRfc3339Micros(us) : "-"; }

// "up since T, N records received" / "retrying since T: last error" / "-".
std::string TunnelSummary(const v1::HostState& h) {
  if (!h.has_tunnel()) return "-";
  const v1::TunnelState& t = h.tunnel();
  return TunnelSummaryLine(TunnelStateName(t.state()), FormatRfc3339Micros(t.since_us()),
                           t.events_received(), t.last_error());
}

}  // namespace

std::string ResolveStorePath(const std::string& db) { return StorePath(db); }

std::unique_ptr<Store> OpenStoreForReading(const std::string& db) { return OpenForReading(db); }

int RunQuery(const QueryOptions& o) {
  EventFilter f;
  const int64_t now = o.clock->NowMicros();
  if (!o.since.empty()) {
    auto t = ParseTimeArg(o.since, now);
    if (!t) {
      std::cerr << "trailkeepd query: --since '" << o.since
                << "' is neither RFC 3339 nor a duration like 15m, 2h, 7d\n";
      return 2;
    }
    f.since_us = *t;
  }
  if (!o.until.empty()) {
    auto t = ParseTimeArg(o.until, now);
    if (!t) {
      std::cerr << "trailkeepd query: --until '" << o.until
                << "' is neither RFC 3339 nor a duration like 15m, 2h, 7d\n";
      return 2;
    }
    f.until_us = *t;
  }
  if (o.format != "text" && o.format != "json") {
    std::cerr << "trailkeepd query: --format must be text or json\n";
    return 2;
  }
  f.host = o.host;
  f.ref = o.ref;
  f.text = o.text;
  if (o.hostname_mismatch || o.hostname_match) f.hostname_mismatch = o.hostname_mismatch;
  auto store = OpenForReading(o.db);
  if (!store) return 1;
  // Hosts whose events before a cut after --since (or ever) expired: said on
  // standard error, so the events printed stay what they were.
  if (auto cut = HostsCutAfterSince(*store, f); cut.ok() && !cut.value().empty()) {
    std::cerr << "trailkeepd query: expired by retention: "
              << DescribeExpiredHosts(cut.value(), cut.value().size()) << "\n";
  }
  Printer out(o.format, o.limit);
  Status s = QueryEvents(*store, f, 0, store->LastSeq(),
                         [&out](const v1::Event& e) { return out.Print(e); });
  std::fflush(stdout);
  if (!s.ok()) {
    std::cerr << "trailkeepd query: " << s.ToString() << "\n";
    return 1;
  }
  return 0;
}

int RunHosts(const std::string& db, const std::string& format) {
  auto store = OpenForReading(db);
  if (!store) return 1;
  std::vector<v1::HostState> hosts;
  Status s = store->ListHosts([&](const v1::HostState& h) { hosts.push_back(h); });
  if (!s.ok()) {
    std::cerr << "trailkeepd hosts: " << s.ToString() << "\n";
    return 1;
  }
  if (format == "json") {
    for (const auto& h : hosts) std::cout << HostStateToJson(h) << "\n";
    return 0;
  }
  std::printf("%-40s %10s %12s %-27s %-27s %-27s %-21s %s\n", "HOST", "EVENTS", "BYTES",
              "FIRST SEEN", "OLDEST KEPT", "LAST SEEN", "LAST PEER", "TUNNEL");
  for (const auto& h : hosts) {
    std::printf("%-40s %10llu %12llu %-27s %-27s %-27s %-21s %s\n", h.name().c_str(),
                static_cast<unsigned long long>(h.events()),
                static_cast<unsigned long long>(h.bytes()), SeenTime(h.first_seen_us()).c_str(),
                SeenTime(OldestKeptUs(h)).c_str(), SeenTime(h.last_seen_us()).c_str(),
                h.last_peer().empty() ? "-" : h.last_peer().c_str(), TunnelSummary(h).c_str());
  }
  return 0;
}

}  // namespace trailkeep
