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
  return std::move(opened).value();
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

struct Filter {
  int64_t since_us = INT64_MIN;
  int64_t until_us = INT64_MAX;
  std::string host;
  std::string ref;
  bool Matches(const v1::Event& e) const {
    if (e.receive_time_us() < since_us || e.receive_time_us() > until_us) return false;
    if (!host.empty() && !GlobMatch(host, e.host())) return false;
    if (!ref.empty() &&
        std::find(e.ndcpp_refs().begin(), e.ndcpp_refs().end(), ref) == e.ndcpp_refs().end()) {
      return false;
    }
    return true;
  }
};

// Receive times are not strictly monotonic across connections; a scan over
// ingest order stops this long after `until` (see docs/formats/record_store.md).
constexpr int64_t kScanSlackUs = 60'000'000;

Status ScanAll(const Store& store, const Filter& f, Printer* out) {
  uint64_t after = 0;
  if (f.since_us != INT64_MIN) {
    auto seq = store.SeqAtTime(f.since_us);
    if (!seq.ok()) return seq.status();
    after = seq.value() > 0 ? seq.value() - 1 : 0;
  }
  return store.ScanEvents(after, [&](const v1::Event& e) {
    if (f.until_us != INT64_MAX && e.receive_time_us() > f.until_us + kScanSlackUs) return false;
    return !f.Matches(e) || out->Print(e);
  });
}

// Host filter: walk each matching host's blocks in by_host, merged by seq.
Status ScanHosts(const Store& store, const Filter& f, Printer* out) {
  std::vector<uint64_t> ids;
  Status s = store.ListHosts([&](const v1::HostState& h) {
    if (GlobMatch(f.host, h.name())) ids.push_back(h.id());
  });
  if (!s.ok()) return s;
  std::vector<uint64_t> blocks;
  for (uint64_t id : ids) {
    s = store.ScanHostBlocks(id, f.since_us == INT64_MIN ? INT64_MIN / 2 : f.since_us, f.until_us,
                             [&](uint64_t seq) {
                               blocks.push_back(seq);
                               return true;
                             });
    if (!s.ok()) return s;
  }
  std::sort(blocks.begin(), blocks.end());
  std::vector<v1::Event> events;
  for (uint64_t b : blocks) {
    events.clear();
    s = store.ReadBlock(b, &events);
    if (!s.ok()) return s;
    for (const auto& e : events) {
      if (f.Matches(e) && !out->Print(e)) return Status::Ok();
    }
  }
  return Status::Ok();
}

Status ScanRef(const Store& store, const Filter& f, Printer* out) {
  std::vector<uint64_t> seqs;
  Status s = store.ScanRef(f.ref, f.since_us == INT64_MIN ? INT64_MIN / 2 : f.since_us, f.until_us,
                           [&](uint64_t seq) {
                             seqs.push_back(seq);
                             return true;
                           });
  if (!s.ok()) return s;
  std::sort(seqs.begin(), seqs.end());
  for (uint64_t seq : seqs) {
    bool stop = false;
    s = store.ScanEvents(seq - 1, [&](const v1::Event& e) {
      if (f.Matches(e)) stop = !out->Print(e);
      return false;
    });
    if (!s.ok() || stop) return s;
  }
  return Status::Ok();
}

}  // namespace

int RunQuery(const QueryOptions& o) {
  Filter f;
  const int64_t now = NowMicros();
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
  auto store = OpenForReading(o.db);
  if (!store) return 1;
  Printer out(o.format, o.limit);
  Status s = !f.ref.empty()    ? ScanRef(*store, f, &out)
             : !f.host.empty() ? ScanHosts(*store, f, &out)
                               : ScanAll(*store, f, &out);
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
  std::printf("%-40s %10s %12s %-27s %-27s %s\n", "HOST", "EVENTS", "BYTES", "FIRST SEEN",
              "LAST SEEN", "LAST PEER");
  for (const auto& h : hosts) {
    std::printf("%-40s %10llu %12llu %-27s %-27s %s\n", h.name().c_str(),
                static_cast<unsigned long long>(h.events()),
                static_cast<unsigned long long>(h.bytes()),
                FormatRfc3339Micros(h.first_seen_us()).c_str(),
                FormatRfc3339Micros(h.last_seen_us()).c_str(), h.last_peer().c_str());
  }
  return 0;
}

}  // namespace trailkeep
