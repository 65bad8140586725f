#include "server/sinks/api_tail.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/base/time_format.h"
#include "common/event/event_format.h"
#include "server/sinks/api_session.h"
#include "server/sinks/live_tail_hub.h"
#include "server/store/event_query.h"
#include "server/store/store.h"

namespace trailkeep {

namespace net = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;
using http_status = beast::http::status;

namespace {

constexpr size_t kChunkBytes = 64 * 1024;
constexpr uint64_t kTailPage = 1000;

}  // namespace

struct TailPage {
  Status status = Status::Ok();
  std::vector<v1::Event> events;
  uint64_t pos = 0;   // the store is covered up to here
  bool more = false;  // a full catch-up page: read on from pos
};

TailStream::~TailStream() {
  Unregister();
  if (sub_) s_.server().hub->Unsubscribe(sub_);
  if (counted_) --s_.server().counters.tail_sessions;
}

void TailStream::Start(const QueryParams& params) {
  auto& server = s_.server();
  auto parsed = ParseTailRequest(params, server.options.max_limit);
  if (!parsed.ok()) return s_.SendError(http_status::bad_request, parsed.status().message());
  req_ = std::move(parsed).value();
  if (!req_.filter.host.empty() && !s_.principal().HostPatternAllowed(req_.filter.host)) {
    return s_.DenyHost(req_.filter.host);
  }
  if (server.hub == nullptr) {
    return s_.SendError(http_status::service_unavailable, "live tail is not available");
  }
  if (Status s = CheckCursorInStore(req_.has_cursor ? req_.cursor : 0, server.store->LastSeq());
      !s.ok()) {
    return s_.SendError(http_status::bad_request, s.message());
  }
  req_.filter.allowed_hosts = s_.principal().hosts;
  s_.set_keep_alive(false);  // the response ends only with the connection
  ++server.counters.tail_sessions;
  counted_ = true;
  std::weak_ptr<ApiSession> weak = s_.shared_from_this();
  auto exec = s_.executor();
  // The session owns this stream: a live session means a live stream.
  sub_ = server.hub->Subscribe(req_.filter, [weak, exec, this] {
    net::post(exec, [weak, this] {
      if (auto self = weak.lock()) Pump();
    });
  });
  Register([weak, exec, this] {
    net::post(exec, [weak, this] {
      if (auto self = weak.lock()) RecheckAccess();
    });
  });
  s_.Audit(SelfEventKind::kApiAccess,
           "tail session by " + s_.Who() + " from " + s_.peer_address() +
               (req_.filter_text.empty() ? "" : ": " + req_.filter_text),
           {{"who", s_.Who()},
            {"path", s_.path()},
            {"filter", req_.filter_text},
            {"host", req_.filter.host},
            {"ref", req_.filter.ref},
            {"cursor", req_.has_cursor ? std::to_string(req_.cursor) : ""},
            {"backlog", std::to_string(req_.backlog)}});
  heartbeat_.emplace(s_.executor());
  s_.writer().Start(s_.version(), "application/x-ndjson", /*keep_alive=*/false,
                    {{"X-Accel-Buffering", "no"}},
                    [self = s_.shared_from_this(), this](error_code ec) {
                      if (ec) return End(false);
                      WatchPeer();
                      ReadStore(req_.has_cursor, 0);
                    });
}

// Reads one store page on the pool: a catch-up page after `from` (cursor
// mode), or the last `backlog` matching events.
void TailStream::ReadStore(bool catch_up, uint64_t from) {
  const uint64_t after = catch_up ? std::max(from, req_.cursor) : 0;
  s_.OnReadPool(
      [server = s_.server_ptr(), req = req_, catch_up, after] {
        auto page = std::make_shared<TailPage>();
        const uint64_t max_seq = server->store->LastSeq();
        page->pos = std::max(after, max_seq);
        if (catch_up) {
          page->status =
              QueryEvents(*server->store, req.filter, after, max_seq, [&](const v1::Event& e) {
                page->events.push_back(e);
                return page->events.size() < kTailPage;
              });
          if (page->events.size() >= kTailPage) {
            page->pos = page->events.back().ingest_seq();
            page->more = true;
          }
        } else if (req.backlog > 0) {
          // The last N matching events: scan ever larger windows back from the end.
          uint64_t window = std::max<uint64_t>(4096, req.backlog * 16);
          std::deque<v1::Event> last;
          for (;;) {
            const uint64_t start = max_seq > window ? max_seq - window : 0;
            last.clear();
            page->status =
                QueryEvents(*server->store, req.filter, start, max_seq, [&](const v1::Event& e) {
                  last.push_back(e);
                  if (last.size() > req.backlog) last.pop_front();
                  return true;
                });
            if (!page->status.ok() || last.size() >= req.backlog || start == 0) break;
            window *= 8;
          }
          page->events.assign(std::make_move_iterator(last.begin()),
                              std::make_move_iterator(last.end()));
        }
        return page;
      },
      [self = s_.shared_from_this(), this](std::shared_ptr<TailPage> page) {
        OnPage(std::move(page));
      });
}

void TailStream::OnPage(std::shared_ptr<TailPage> page) {
  if (done_ || revoked_) return;
  buf_.clear();
  if (!page->status.ok()) {
    spdlog::error("API tail store read failed for {}: {}", s_.Who(), page->status.ToString());
    buf_ = ApiErrorBody(500, "store read failed");
    return Write([this] { End(true); });
  }
  for (const auto& e : page->events) {
    buf_ += EventToJson(e);
    buf_ += '\n';
  }
  s_.server().counters.tail_events += page->events.size();
  pos_ = std::max(pos_, page->pos);
  if (page->more) return Write([this] { ReadStore(true, pos_); });
  live_ = true;
  // A first heartbeat at once: the client knows its resume point before any
  // live event arrives.
  buf_ += HeartbeatLine();
  Write([this] { Pump(); });
}

// Sends what the subscriber queued (live phase), when no write is pending, in
// chunks of about kChunkBytes: taken events wait in pending_ (they share the
// hub's batches), so a slow reader holds one chunk of text, not its whole
// queue formatted.
void TailStream::Pump() {
  if (!live_ || writing_ || done_ || revoked_) return;
  buf_.clear();
  uint64_t n = 0;
  while (buf_.empty()) {
    if (pending_.empty()) {
      auto taken = sub_->Take();
      if (taken.overflowed) return Overflowed(taken.missed);
      seen_ = std::max(seen_, taken.seen_seq);
      if (taken.events.empty()) break;
      pending_.assign(taken.events.begin(), taken.events.end());
    }
    while (!pending_.empty() && buf_.size() < kChunkBytes) {
      const std::shared_ptr<const v1::Event> e = std::move(pending_.front());
      pending_.pop_front();
      if (e->ingest_seq() <= pos_) continue;  // already sent from the store
      buf_ += EventToJson(*e);
      buf_ += '\n';
      pos_ = e->ingest_seq();
      ++n;
    }
  }
  s_.server().counters.tail_events += n;
  // Commits that matched nothing move the resume point too (heartbeats show it).
  if (pending_.empty()) pos_ = std::max(pos_, seen_);
  if (buf_.empty()) return;
  Write([this] { Pump(); });
}

// Too slow: the hub dropped our queue. Say so and end; the client resumes
// from the store with cursor = pos_ (everything up to it was sent).
void TailStream::Overflowed(uint64_t missed) {
  s_.server().counters.tail_missed += missed;
  buf_ = "{\"missed\": " + std::to_string(missed) + ", \"resume_cursor\": \"" +
         std::to_string(pos_) + "\"}\n";
  s_.server().hub->Unsubscribe(sub_);
  Write([this] { End(true); });
}

std::string TailStream::HeartbeatLine() const {
  return "{\"heartbeat\": \"" + FormatRfc3339Micros(s_.server().options.clock->NowMicros()) +
         "\", \"cursor\": \"" + std::to_string(pos_) + "\"}\n";
}

void TailStream::ArmHeartbeat() {
  if (done_) return;
  heartbeat_->expires_after(std::chrono::milliseconds(s_.server().options.tail_heartbeat_ms));
  heartbeat_->async_wait([self = s_.shared_from_this(), this](error_code ec) {
    if (ec || done_ || !live_ || writing_ || revoked_) return;
    // Take what the hub has first: it may hold events, or only a higher seen
    // seq (non-matching commits) that the heartbeat's cursor should show.
    Pump();
    if (writing_ || done_) return;
    buf_ = HeartbeatLine();
    Write([this] { Pump(); });
  });
}

// A tail client sends nothing after its request: a completed read means it
// closed (or broke the protocol), so the subscription ends at once instead of
// at the next failed write. Called when no write is pending.
void TailStream::WatchPeer() {
  // No deadline on this read: basic_stream keeps a pending read's deadline,
  // and later expires_after calls (for the writes) do not touch it.
  beast::get_lowest_layer(s_.stream()).expires_never();
  s_.stream().async_read_some(net::buffer(peer_byte_),
                              [self = s_.shared_from_this(), this](error_code ec, size_t) {
                                if (!done_) {
                                  spdlog::debug("tail client {} went away: {}", s_.peer_address(),
                                                ec ? ec.message() : "it sent data");
                                }
                                End(false);
                              });
}

// Writes buf_ (not empty) as one chunk, then `next`. `next` runs with the
// session alive (the completion holds it).
void TailStream::Write(std::function<void()> next) {
  writing_ = true;
  s_.writer().Write(std::move(buf_),
                    [self = s_.shared_from_this(), this, next = std::move(next)](error_code ec) {
                      writing_ = false;
                      if (ec) return End(false);
                      if (revoked_ && !revoke_sent_) return EndRevoked();
                      ArmHeartbeat();
                      next();
                    });
  buf_.clear();
}

// A tail outlives the tokens in force when it started: after a reload
// (SIGHUP) each open tail checks its token again, and one whose token is
// gone, lost the tail scope or changed host patterns is ended. Certificate
// rules come from the configuration, which a reload does not change.
void TailStream::Register(std::function<void()> recheck) {
  auto& server = s_.server();
  std::lock_guard<std::mutex> lock(server.tails_mu);
  id_ = ++server.next_tail_id;
  server.tail_rechecks.emplace(id_, std::move(recheck));
}

void TailStream::Unregister() {
  if (id_ == 0) return;
  auto& server = s_.server();
  std::lock_guard<std::mutex> lock(server.tails_mu);
  server.tail_rechecks.erase(id_);
  id_ = 0;
}

void TailStream::RecheckAccess() {
  const ApiPrincipal& principal = s_.principal();
  if (done_ || revoked_ || principal.method != "token") return;
  const auto now = s_.server().Auth()->FromToken(s_.bearer());
  if (now && now->Has(kScopeTail) && now->hosts == principal.hosts) return;
  revoked_ = true;
  s_.RecordDenied(401, "API tail ended", "the token no longer grants this tail (tokens reloaded)");
  if (!writing_) EndRevoked();
}

// The last line of a revoked tail, then the end of the response.
void TailStream::EndRevoked() {
  if (done_ || revoke_sent_) return;
  revoke_sent_ = true;
  buf_ = ApiErrorBody(401, "access revoked: the token was removed or changed");
  Write([this] { End(true); });
}

// Ends the tail: unsubscribes; `graceful` ends the chunked body and closes.
void TailStream::End(bool graceful) {
  if (done_) return;
  done_ = true;
  Unregister();
  if (sub_) {
    s_.server().hub->Unsubscribe(sub_);
    sub_.reset();
  }
  if (heartbeat_) heartbeat_->cancel();
  pending_.clear();
  s_.writer().Reset();
  if (!graceful) {
    beast::get_lowest_layer(s_.stream()).close();
    return;
  }
  s_.writer().Finish([self = s_.shared_from_this(), this](error_code ec) {
    if (ec) return;
    s_.Close();
  });
}

}  // namespace trailkeep
