#include "server/sinks/api_events.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/sinks/api_session.h"
#include "server/sinks/export_format.h"
#include "server/store/event_query.h"
#include "server/store/expired_hosts.h"
#include "server/store/store.h"

namespace trailkeep {

using boost::system::error_code;
using http_status = boost::beast::http::status;

namespace {

constexpr size_t kChunkBytes = 64 * 1024;
constexpr char kNextCursorHeader[] = "X-Trailkeep-Next-Cursor";
constexpr char kExpiredHeader[] = "X-Trailkeep-Expired";
constexpr char kFirstKeptHeader[] = "X-Trailkeep-First-Kept-Cursor";
constexpr char kHostsExpiredHeader[] = "X-Trailkeep-Hosts-Expired";
constexpr size_t kMaxExpiredHostsNamed = 20;

}  // namespace

// The result of a page read on the pool.
struct EventsPage {
  Status status = Status::Ok();
  std::vector<v1::Event> events;
  uint64_t next_cursor = 0;
  // Retention: the store's first kept seq; when it is above cursor + 1 the
  // seqs between expired and the answer says so (expired_text()).
  uint64_t first_seq = 0;
  uint64_t cursor = 0;
  bool expired() const { return first_seq > cursor + 1; }  // false when first_seq is 0
  // Per-host cuts after the query's start (a query from a time or from the
  // beginning): those hosts' older events are gone though others' are not.
  std::string hosts_expired;
  // "A-B": the seqs after the cursor that retention removed.
  std::string expired_text() const {
    return std::to_string(cursor + 1) + "-" + std::to_string(first_seq - 1);
  }
};

EventsResponse::~EventsResponse() {
  if (holds_stream_) --s_.server().counters.streams;
}

void EventsResponse::Start(const QueryParams& params) {
  auto& server = s_.server();
  auto parsed = ParseEventsRequest(params, server.options.clock->NowMicros(),
                                   server.options.default_limit, server.options.max_limit);
  if (!parsed.ok()) return s_.SendError(http_status::bad_request, parsed.status().message());
  req_ = std::move(parsed).value();
  if (!req_.filter.host.empty() && !s_.principal().HostPatternAllowed(req_.filter.host)) {
    return s_.DenyHost(req_.filter.host);
  }
  if (Status s = CheckCursorInStore(req_.cursor, server.store->LastSeq()); !s.ok()) {
    return s_.SendError(http_status::bad_request, s.message());
  }
  req_.filter.allowed_hosts = s_.principal().hosts;
  if (server.counters.streams.fetch_add(1) >= server.options.max_streams) {
    --server.counters.streams;
    return s_.SendBusy("1", "too many export requests in flight; retry");
  }
  holds_stream_ = true;
  s_.OnReadPool(
      [server = s_.server_ptr(), req = req_] {
        auto page = std::make_shared<EventsPage>();
        const uint64_t max_seq = server->store->LastSeq();
        page->cursor = req.cursor;
        if (auto first = server->store->FirstSeq(); first.ok()) {
          page->first_seq = first.value();
        } else {
          page->status = first.status();
          return page;
        }
        if (page->expired() && req.filter.since_us != INT64_MIN) {
          // A query from a time names the expired range only when that time
          // falls before the first kept event.
          std::vector<v1::Event> first_block;
          if (server->store->ReadBlock(page->first_seq, &first_block).ok() &&
              !first_block.empty() &&
              first_block.front().receive_time_us() <= req.filter.since_us) {
            page->first_seq = 0;  // nothing expired after `since`
          }
        }
        if (req.filter.since_us != INT64_MIN || req.cursor == 0) {
          auto cut = HostsCutAfterSince(*server->store, req.filter);
          if (!cut.ok()) {
            page->status = cut.status();
            return page;
          }
          page->hosts_expired = DescribeExpiredHosts(cut.value(), kMaxExpiredHostsNamed);
        }
        page->status =
            QueryEvents(*server->store, req.filter, req.cursor, max_seq, [&](const v1::Event& e) {
              page->events.push_back(e);
              return page->events.size() < req.limit;
            });
        page->next_cursor = page->events.size() >= req.limit ? page->events.back().ingest_seq()
                                                             : std::max(req.cursor, max_seq);
        return page;
      },
      [self = s_.shared_from_this(), this](std::shared_ptr<EventsPage> page) {
        OnPage(std::move(page));
      });
}

void EventsResponse::OnPage(std::shared_ptr<EventsPage> page) {
  if (!page->status.ok()) {
    Release();
    return s_.SendInternalError("store read failed", page->status);
  }
  page_ = std::move(page);
  next_ = 0;
  s_.server().counters.events_exported += page_->events.size();
  const auto& f = req_.filter;
  s_.Audit(SelfEventKind::kApiAccess,
           "export by " + s_.Who() + " from " + s_.peer_address() + ": " +
               std::to_string(page_->events.size()) + " events after cursor " +
               std::to_string(req_.cursor),
           {{"who", s_.Who()},
            {"path", s_.path()},
            {"filter", req_.filter_text},
            {"host", f.host},
            {"ref", f.ref},
            {"cursor", std::to_string(req_.cursor)},
            {"next_cursor", std::to_string(page_->next_cursor)},
            {"count", std::to_string(page_->events.size())}});

  std::vector<std::pair<std::string, std::string>> headers = {
      {kNextCursorHeader, std::to_string(page_->next_cursor)},
      {"X-Trailkeep-Count", std::to_string(page_->events.size())}};
  if (page_->expired()) {
    // A cursor before a retention cut: answered from the first kept event,
    // naming what expired (never an error, never a silent skip).
    headers.emplace_back(kExpiredHeader, page_->expired_text());
    headers.emplace_back(kFirstKeptHeader, std::to_string(page_->first_seq - 1));
  }
  if (!page_->hosts_expired.empty())
    headers.emplace_back(kHostsExpiredHeader, page_->hosts_expired);
  s_.writer().Start(s_.version(), ExportContentType(req_.format), s_.keep_alive(), headers,
                    [self = s_.shared_from_this(), this](error_code ec) {
                      if (ec) return Release();
                      WriteChunk();
                    });
}

// Formats and writes the next ~64 KiB of the page; the page's events stay in
// memory (bounded by max_limit), the formatted response never does.
void EventsResponse::WriteChunk() {
  std::string chunk;
  const auto& events = page_->events;
  while (next_ < events.size() && chunk.size() < kChunkBytes) {
    AppendExportedEvent(req_.format, events[next_++], &chunk, req_.seal_proof);
  }
  if (next_ >= events.size() && !trailer_written_ && req_.format == ExportFormat::kNdjson) {
    chunk += "{\"next_cursor\": \"" + std::to_string(page_->next_cursor) + "\"";
    if (page_->expired()) {
      chunk += ", \"expired\": \"" + page_->expired_text() + "\", \"first_kept_cursor\": \"" +
               std::to_string(page_->first_seq - 1) + "\"";
    }
    if (!page_->hosts_expired.empty()) {
      chunk += ", \"hosts_expired\": " + nlohmann::json(page_->hosts_expired).dump();
    }
    chunk += "}\n";
    trailer_written_ = true;
  }
  if (chunk.empty()) {
    s_.writer().Finish([self = s_.shared_from_this(), this](error_code ec) {
      Release();
      if (ec) return;
      s_.AfterResponse();
    });
    return;
  }
  s_.writer().Write(std::move(chunk), [self = s_.shared_from_this(), this](error_code ec) {
    if (ec) return Release();
    WriteChunk();
  });
}

void EventsResponse::Release() {
  if (holds_stream_) {
    holds_stream_ = false;
    --s_.server().counters.streams;
  }
  page_.reset();
  s_.writer().Reset();
  trailer_written_ = false;
}

}  // namespace trailkeep
