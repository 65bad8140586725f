#include "server/sinks/export_https_server.h"

#include <atomic>
#include <charconv>
#include <cmath>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include "common/base/endpoint.h"
#include "common/base/time_format.h"
#include "common/event/event_format.h"
#include "server/net/acceptor.h"
#include "server/net/tls_context.h"
#include "server/net/tls_syslog_listener.h"
#include "server/selfaudit/self_audit.h"
#include "server/sinks/export_format.h"
#include "server/sinks/export_request.h"
#include "server/sinks/live_tail_hub.h"
#include "server/store/event_query.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

constexpr size_t kChunkBytes = 64 * 1024;
constexpr char kNextCursorHeader[] = "X-Trailkeep-Next-Cursor";

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"";
}

std::string ErrorBody(unsigned status, const std::string& message) {
  return "{\"error\": " + JsonString(message) + ", \"status\": " + std::to_string(status) + "}\n";
}

// CN of an RFC 2253 subject ("CN=a,O=b").
std::string CommonName(const std::string& subject) {
  size_t pos = subject.find("CN=");
  if (pos == std::string::npos) return "";
  size_t end = subject.find(',', pos);
  return subject.substr(pos + 3, end == std::string::npos ? std::string::npos : end - pos - 3);
}

std::string FormatMetricValue(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

struct ServerCounters {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> denied{0};
  std::atomic<uint64_t> events_exported{0};
  std::atomic<uint64_t> tail_sessions{0};
  std::atomic<uint64_t> tail_events{0};
  std::atomic<uint64_t> tail_missed{0};
  std::atomic<uint64_t> tls_failures{0};
  std::atomic<size_t> streams{0};
};

}  // namespace

std::string PrometheusText(const std::vector<Metric>& metrics) {
  std::string out;
  for (const auto& m : metrics) {
    const std::string name = "trailkeep_" + m.name;
    out += "# HELP " + name + " " + m.help + "\n";
    out += "# TYPE " + name + " " + m.type + "\n";
    out += name + " " + FormatMetricValue(m.value) + "\n";
  }
  return out;
}

struct ExportHttpsServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(net::io_context& io_in, const ExportServerOptions& o, const Store* s, SelfAudit* a,
       MetricsSource m, LiveTailHub* h)
      : io(io_in),
        options(o),
        store(s),
        audit(a),
        metrics(std::move(m)),
        hub(h),
        pool(static_cast<size_t>(std::max(1, o.read_threads))) {
    TlsOptions tls = o.tls;
    tls.client_auth = tls.ca_file.empty() ? ClientAuth::kNone : ClientAuth::kOptional;
    tls.permitted_peers.clear();
    tls.permitted_fingerprints.clear();
    ctx = MakeServerTlsContext(tls);
    std::vector<TokenEntry> tokens = o.tokens;
    if (!o.token_file.empty()) {
      auto loaded = LoadTokenFile(o.token_file);
      if (!loaded.ok()) throw std::runtime_error(loaded.status().message());
      for (auto& t : loaded.value()) tokens.push_back(std::move(t));
    }
    auth = std::make_unique<ApiAuthenticator>(std::move(tokens), o.clients);
  }

  void Accept(tcp::acceptor* acc);

  net::io_context& io;
  const ExportServerOptions options;
  const Store* const store;
  SelfAudit* const audit;
  const MetricsSource metrics;
  LiveTailHub* const hub;
  std::shared_ptr<ssl::context> ctx;
  std::unique_ptr<ApiAuthenticator> auth;
  net::thread_pool pool;  // store reads
  ServerCounters counters;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
};

namespace {

// The result of a page read on the pool.
struct Page {
  Status status = Status::Ok();
  std::vector<v1::Event> events;
  uint64_t next_cursor = 0;
};

// One HTTPS connection: handshake, then requests one at a time (keep-alive).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<ExportHttpsServer::Impl> server)
      : stream_(std::move(socket), *server->ctx), server_(std::move(server)) {
    error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) {
      peer_address_ = FormatEndpoint(ep.address().to_string(), ep.address().is_v6(), ep.port());
    }
    ++server_->counters.connections;
  }
  ~Session() {
    if (sub_) server_->hub->Unsubscribe(sub_);
    if (counts_tail_) --server_->counters.tail_sessions;
    --server_->counters.connections;
    if (holds_stream_) --server_->counters.streams;
  }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Handshake(); });
  }

 private:
  using Response = http::response<http::string_body>;

  void Handshake() {
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(server_->options.handshake_timeout_ms));
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](error_code ec) { self->OnHandshake(ec); });
  }

  void OnHandshake(error_code ec) {
    if (ec) {
      ++server_->counters.tls_failures;
      server_->audit->Record(SelfEventKind::kTlsHandshakeFailed, peer_address_,
                             "export API: TLS handshake failed: " + ec.message(),
                             {{"listener", "export"}});
      return;
    }
    FillPeerFromTls(stream_.native_handle(), &peer_);
    DoRead();
  }

  void DoRead() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(64 * 1024);
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(server_->options.idle_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof) return Close();
    if (ec) {
      // Malformed request or a read timeout: answer what we can, then close.
      if (ec != beast::error::timeout && ec != net::error::operation_aborted &&
          ec != ssl::error::stream_truncated && ec != net::error::connection_reset) {
        keep_alive_ = false;
        SendError(http::status::bad_request, "malformed request: " + ec.message());
      }
      return;
    }
    request_ = parser_->release();
    keep_alive_ = request_.keep_alive();
    ++server_->counters.requests;
    Handle();
  }

  void Handle() {
    if (request_.method() != http::verb::get) {
      return SendError(http::status::method_not_allowed, "only GET is supported");
    }
    const std::string target(request_.target());
    const size_t qpos = target.find('?');
    path_ = target.substr(0, qpos);
    auto params = ParseQueryString(qpos == std::string::npos ? "" : target.substr(qpos + 1));
    if (!params.ok()) return SendError(http::status::bad_request, params.status().message());

    ApiScope needed;
    if (path_ == "/v1/events") {
      needed = kScopeExport;
    } else if (path_ == "/v1/tail") {
      needed = kScopeTail;
    } else if (path_ == "/v1/hosts" || path_ == "/metrics") {
      needed = kScopeAdmin;
    } else {
      return SendError(http::status::not_found, "no such endpoint: " + path_);
    }
    if (!Authenticate()) return;
    if (!principal_->Has(needed)) {
      return Deny(http::status::forbidden, std::string("the ") + ScopeNames(needed) +
                                               " scope is required; " + principal_->name + " has " +
                                               ScopeNames(principal_->scopes));
    }
    if (path_ == "/v1/events") return HandleEvents(params.value());
    if (path_ == "/v1/tail") return HandleTail(params.value());
    if (!params.value().empty()) {
      return SendError(http::status::bad_request, path_ + " takes no parameters");
    }
    if (path_ == "/v1/hosts") return HandleHosts();
    return HandleMetrics();
  }

  // Sets principal_, or answers 401/403 and returns false.
  bool Authenticate() {
    principal_.reset();
    auto it = request_.find(http::field::authorization);
    if (it != request_.end()) {
      std::string_view value(it->value().data(), it->value().size());
      constexpr std::string_view kBearer = "Bearer ";
      if (value.size() <= kBearer.size() || value.substr(0, kBearer.size()) != kBearer) {
        Deny(http::status::unauthorized, "the Authorization header must be 'Bearer TOKEN'");
        return false;
      }
      principal_ = server_->auth->FromToken(value.substr(kBearer.size()));
      if (!principal_) {
        Deny(http::status::unauthorized, "invalid token");
        return false;
      }
      return true;
    }
    if (peer_.authenticated()) {
      std::vector<std::string> names(peer_.cert_dns_names().begin(), peer_.cert_dns_names().end());
      names.push_back(CommonName(peer_.cert_subject()));
      principal_ = server_->auth->FromCertificate(names);
      if (!principal_) {
        Deny(http::status::forbidden,
             "certificate " + peer_.cert_subject() + " is not mapped to any API scope");
        return false;
      }
      return true;
    }
    Deny(http::status::unauthorized,
         "authentication required: a bearer token or a client certificate");
    return false;
  }

  std::string Who() const {
    if (principal_) return principal_->name + " (" + principal_->method + ")";
    if (peer_.authenticated()) return peer_.cert_subject() + " (mtls)";
    return "anonymous";
  }

  void Deny(http::status status, const std::string& reason) {
    ++server_->counters.denied;
    const unsigned code = static_cast<unsigned>(status);
    server_->audit->Record(SelfEventKind::kApiDenied, peer_address_,
                           "API request refused (" + std::to_string(code) + ") for " + Who() +
                               " from " + peer_address_ + ": " + reason,
                           {{"who", Who()},
                            {"status", std::to_string(code)},
                            {"path", std::string(request_.target())},
                            {"reason", reason}});
    SendError(status, reason);
  }

  void SendError(http::status status, const std::string& message) {
    auto res = std::make_shared<Response>(status, request_.version() ? request_.version() : 11);
    res->set(http::field::content_type, "application/json");
    if (status == http::status::unauthorized) {
      res->set(http::field::www_authenticate, "Bearer realm=\"trailkeep\"");
    }
    res->body() = ErrorBody(static_cast<unsigned>(status), message);
    Send(std::move(res));
  }

  void Send(std::shared_ptr<Response> res) {
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(server_->options.write_timeout_ms));
    http::async_write(stream_, *res, [self = shared_from_this(), res](error_code ec, size_t) {
      if (ec) return;
      self->AfterResponse();
    });
  }

  void AfterResponse() {
    if (!keep_alive_) return Close();
    DoRead();
  }

  void Close() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](error_code) {});
  }

  // --- GET /v1/events -----------------------------------------------------
  void HandleEvents(const QueryParams& params) {
    auto parsed = ParseEventsRequest(params, NowMicros(), server_->options.default_limit,
                                     server_->options.max_limit);
    if (!parsed.ok()) return SendError(http::status::bad_request, parsed.status().message());
    events_req_ = std::move(parsed).value();
    if (!events_req_.filter.host.empty() &&
        !principal_->HostPatternAllowed(events_req_.filter.host)) {
      return Deny(http::status::forbidden, "host '" + events_req_.filter.host +
                                               "' is outside the hosts allowed for " +
                                               principal_->name);
    }
    events_req_.filter.allowed_hosts = principal_->hosts;
    if (server_->counters.streams.fetch_add(1) >= server_->options.max_streams) {
      --server_->counters.streams;
      auto res = std::make_shared<Response>(http::status::service_unavailable, request_.version());
      res->set(http::field::content_type, "application/json");
      res->set(http::field::retry_after, "1");
      res->body() = ErrorBody(503, "too many export requests in flight; retry");
      return Send(std::move(res));
    }
    holds_stream_ = true;
    auto server = server_;
    net::post(server->pool, [self = shared_from_this(), server, req = events_req_] {
      auto page = std::make_shared<Page>();
      const uint64_t max_seq = server->store->LastSeq();
      page->status =
          QueryEvents(*server->store, req.filter, req.cursor, max_seq, [&](const v1::Event& e) {
            page->events.push_back(e);
            return page->events.size() < req.limit;
          });
      page->next_cursor = page->events.size() >= req.limit ? page->events.back().ingest_seq()
                                                           : std::max(req.cursor, max_seq);
      net::post(self->stream_.get_executor(),
                [self, page = std::move(page)] { self->OnPage(std::move(page)); });
    });
  }

  void OnPage(std::shared_ptr<Page> page) {
    if (!page->status.ok()) {
      ReleaseStream();
      spdlog::error("export page read failed: {}", page->status.ToString());
      return SendError(http::status::internal_server_error,
                       "store read failed: " + page->status.ToString());
    }
    page_ = std::move(page);
    next_ = 0;
    server_->counters.events_exported += page_->events.size();
    const auto& f = events_req_.filter;
    server_->audit->Record(SelfEventKind::kApiAccess, peer_address_,
                           "export by " + Who() + " from " + peer_address_ + ": " +
                               std::to_string(page_->events.size()) + " events after cursor " +
                               std::to_string(events_req_.cursor),
                           {{"who", Who()},
                            {"path", path_},
                            {"filter", events_req_.filter_text},
                            {"host", f.host},
                            {"ref", f.ref},
                            {"cursor", std::to_string(events_req_.cursor)},
                            {"next_cursor", std::to_string(page_->next_cursor)},
                            {"count", std::to_string(page_->events.size())}});

    StartChunked(ExportContentType(events_req_.format), keep_alive_,
                 {{kNextCursorHeader, std::to_string(page_->next_cursor)},
                  {"X-Trailkeep-Count", std::to_string(page_->events.size())}},
                 [self = shared_from_this()](error_code ec) {
                   if (ec) return self->ReleaseStream();
                   self->WriteChunk();
                 });
  }

  // Sends a 200 header for a chunked (streamed) body, then calls `then`.
  void StartChunked(const char* content_type, bool keep_alive,
                    std::vector<std::pair<std::string, std::string>> extra,
                    std::function<void(error_code)> then) {
    header_.emplace(http::status::ok, request_.version());
    header_->set(http::field::content_type, content_type);
    header_->set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : extra) header_->set(name, value);
    header_->keep_alive(keep_alive);
    header_->chunked(true);
    serializer_.emplace(*header_);
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(server_->options.write_timeout_ms));
    http::async_write_header(stream_, *serializer_,
                             [then = std::move(then)](error_code ec, size_t) { then(ec); });
  }

  // Formats and writes the next ~64 KiB of the page; the page's events stay
  // in memory (bounded by max_limit), the formatted response never does.
  void WriteChunk() {
    chunk_.clear();
    const auto& events = page_->events;
    while (next_ < events.size() && chunk_.size() < kChunkBytes) {
      AppendExportedEvent(events_req_.format, events[next_++], &chunk_);
    }
    if (next_ >= events.size() && !trailer_written_ &&
        events_req_.format == ExportFormat::kNdjson) {
      chunk_ += "{\"next_cursor\": \"" + std::to_string(page_->next_cursor) + "\"}\n";
      trailer_written_ = true;
    }
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(server_->options.write_timeout_ms));
    if (chunk_.empty()) {
      net::async_write(stream_, http::make_chunk_last(),
                       [self = shared_from_this()](error_code ec, size_t) {
                         self->ReleaseStream();
                         if (ec) return;
                         self->AfterResponse();
                       });
      return;
    }
    net::async_write(stream_, http::make_chunk(net::buffer(chunk_)),
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (ec) return self->ReleaseStream();
                       self->WriteChunk();
                     });
  }

  void ReleaseStream() {
    if (holds_stream_) {
      holds_stream_ = false;
      --server_->counters.streams;
    }
    page_.reset();
    serializer_.reset();
    header_.reset();
    trailer_written_ = false;
  }

  // --- GET /v1/tail -------------------------------------------------------
  // Subscribe first, then read the store up to its last seq S (the backlog
  // or the catch-up from the cursor, in pages), then send live events with
  // seq > S: every event committed before the subscription is in the store
  // by then, and live events the store phase already covered are skipped,
  // so there is neither a gap nor a duplicate.
  static constexpr uint64_t kTailPage = 1000;

  struct TailPage {
    Status status = Status::Ok();
    std::vector<v1::Event> events;
    uint64_t pos = 0;   // the store is covered up to here
    bool more = false;  // a full catch-up page: read on from pos
  };

  void HandleTail(const QueryParams& params) {
    auto parsed = ParseTailRequest(params, server_->options.max_limit);
    if (!parsed.ok()) return SendError(http::status::bad_request, parsed.status().message());
    tail_req_ = std::move(parsed).value();
    if (!tail_req_.filter.host.empty() && !principal_->HostPatternAllowed(tail_req_.filter.host)) {
      return Deny(http::status::forbidden, "host '" + tail_req_.filter.host +
                                               "' is outside the hosts allowed for " +
                                               principal_->name);
    }
    if (server_->hub == nullptr) {
      return SendError(http::status::service_unavailable, "live tail is not available");
    }
    tail_req_.filter.allowed_hosts = principal_->hosts;
    keep_alive_ = false;  // the response ends only with the connection
    ++server_->counters.tail_sessions;
    counts_tail_ = true;
    std::weak_ptr<Session> weak = shared_from_this();
    auto exec = stream_.get_executor();
    sub_ = server_->hub->Subscribe(tail_req_.filter, [weak, exec] {
      net::post(exec, [weak] {
        if (auto self = weak.lock()) self->TailPump();
      });
    });
    server_->audit->Record(
        SelfEventKind::kApiAccess, peer_address_,
        "tail session by " + Who() + " from " + peer_address_ +
            (tail_req_.filter_text.empty() ? "" : ": " + tail_req_.filter_text),
        {{"who", Who()},
         {"path", path_},
         {"filter", tail_req_.filter_text},
         {"host", tail_req_.filter.host},
         {"ref", tail_req_.filter.ref},
         {"cursor", tail_req_.has_cursor ? std::to_string(tail_req_.cursor) : ""},
         {"backlog", std::to_string(tail_req_.backlog)}});
    heartbeat_.emplace(stream_.get_executor());
    StartChunked("application/x-ndjson", /*keep_alive=*/false, {{"X-Accel-Buffering", "no"}},
                 [self = shared_from_this()](error_code ec) {
                   if (ec) return self->TailEnd(false);
                   self->WatchTailPeer();
                   self->ReadTailStore(self->tail_req_.has_cursor, 0);
                 });
  }

  // Reads one store page on the pool: a catch-up page after `from`
  // (cursor mode), or the last `backlog` matching events.
  void ReadTailStore(bool catch_up, uint64_t from) {
    auto server = server_;
    const TailRequest req = tail_req_;
    const uint64_t after = catch_up ? std::max(from, req.cursor) : 0;
    net::post(server->pool, [self = shared_from_this(), server, req, catch_up, after] {
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
      net::post(self->stream_.get_executor(),
                [self, page = std::move(page)] { self->OnTailPage(std::move(page)); });
    });
  }

  void OnTailPage(std::shared_ptr<TailPage> page) {
    if (tail_done_) return;
    tail_buf_.clear();
    if (!page->status.ok()) {
      spdlog::error("tail store read failed: {}", page->status.ToString());
      tail_buf_ = ErrorBody(500, "store read failed: " + page->status.ToString());
      return TailWrite([self = shared_from_this()] { self->TailEnd(true); });
    }
    for (const auto& e : page->events) {
      tail_buf_ += EventToJson(e);
      tail_buf_ += '\n';
    }
    server_->counters.tail_events += page->events.size();
    tail_pos_ = std::max(tail_pos_, page->pos);
    if (page->more) {
      return TailWrite([self = shared_from_this()] { self->ReadTailStore(true, self->tail_pos_); });
    }
    tail_live_ = true;
    // A first heartbeat at once: the client knows its resume point before any
    // live event arrives.
    tail_buf_ += HeartbeatLine();
    TailWrite([self = shared_from_this()] { self->TailPump(); });
  }

  // Sends what the subscriber queued (live phase), when no write is pending.
  void TailPump() {
    if (!tail_live_ || tail_writing_ || tail_done_) return;
    auto taken = sub_->Take();
    tail_buf_.clear();
    uint64_t n = 0;
    for (const auto& e : taken.events) {
      if (e->ingest_seq() <= tail_pos_) continue;  // already sent from the store
      tail_buf_ += EventToJson(*e);
      tail_buf_ += '\n';
      tail_pos_ = e->ingest_seq();
      ++n;
    }
    server_->counters.tail_events += n;
    if (taken.overflowed) {
      // Too slow: the hub dropped our queue. Say so and end; the client
      // resumes from the store with cursor = tail_pos_.
      server_->counters.tail_missed += taken.missed;
      tail_buf_ += "{\"missed\": " + std::to_string(taken.missed) + ", \"resume_cursor\": \"" +
                   std::to_string(tail_pos_) + "\"}\n";
      server_->hub->Unsubscribe(sub_);
      return TailWrite([self = shared_from_this()] { self->TailEnd(true); });
    }
    tail_pos_ = std::max(tail_pos_, taken.seen_seq);
    if (tail_buf_.empty()) return;
    TailWrite([self = shared_from_this()] { self->TailPump(); });
  }

  std::string HeartbeatLine() const {
    return "{\"heartbeat\": \"" + FormatRfc3339Micros(NowMicros()) + "\", \"cursor\": \"" +
           std::to_string(tail_pos_) + "\"}\n";
  }

  void ArmHeartbeat() {
    if (tail_done_) return;
    heartbeat_->expires_after(std::chrono::milliseconds(server_->options.tail_heartbeat_ms));
    heartbeat_->async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->tail_done_ || !self->tail_live_ || self->tail_writing_) return;
      // Take what the hub has first: it may hold events, or only a higher
      // seen seq (non-matching commits) that the heartbeat's cursor should show.
      self->TailPump();
      if (self->tail_writing_ || self->tail_done_) return;
      self->tail_buf_ = self->HeartbeatLine();
      self->TailWrite([self] { self->TailPump(); });
    });
  }

  // A tail client sends nothing after its request: a completed read means it
  // closed (or broke the protocol), so the subscription ends at once instead
  // of at the next failed write. Called when no write is pending.
  void WatchTailPeer() {
    // No deadline on this read: basic_stream keeps a pending read's deadline,
    // and later expires_after calls (for the writes) do not touch it.
    beast::get_lowest_layer(stream_).expires_never();
    stream_.async_read_some(net::buffer(peer_byte_),
                            [self = shared_from_this()](error_code ec, size_t) {
                              if (!self->tail_done_) {
                                spdlog::debug("tail client {} went away: {}", self->peer_address_,
                                              ec ? ec.message() : "it sent data");
                              }
                              self->TailEnd(false);
                            });
  }

  // Writes tail_buf_ (non-empty) as one chunk, then `next`.
  void TailWrite(std::function<void()> next) {
    tail_writing_ = true;
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(server_->options.write_timeout_ms));
    net::async_write(stream_, http::make_chunk(net::buffer(tail_buf_)),
                     [self = shared_from_this(), next = std::move(next)](error_code ec, size_t) {
                       self->tail_writing_ = false;
                       if (ec) return self->TailEnd(false);
                       self->ArmHeartbeat();
                       next();
                     });
  }

  // Ends the tail: unsubscribes; `graceful` ends the chunked body and closes.
  void TailEnd(bool graceful) {
    if (tail_done_) return;
    tail_done_ = true;
    if (sub_) {
      server_->hub->Unsubscribe(sub_);
      sub_.reset();
    }
    if (heartbeat_) heartbeat_->cancel();
    serializer_.reset();
    header_.reset();
    if (!graceful) {
      beast::get_lowest_layer(stream_).close();
      return;
    }
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(server_->options.write_timeout_ms));
    net::async_write(stream_, http::make_chunk_last(),
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (ec) return;
                       self->Close();
                     });
  }

  // --- GET /v1/hosts ------------------------------------------------------
  void HandleHosts() {
    auto server = server_;
    net::post(server->pool, [self = shared_from_this(), server] {
      auto body = std::make_shared<std::string>("[");
      bool first = true;
      const auto& allowed = self->principal_->hosts;
      Status s = server->store->ListHosts([&](const v1::HostState& h) {
        if (!allowed.empty() &&
            std::none_of(allowed.begin(), allowed.end(),
                         [&](const std::string& p) { return GlobMatchHost(p, h.name()); })) {
          return;
        }
        if (!first) *body += ",\n";
        first = false;
        *body += HostStateToJson(h);
      });
      *body += "]\n";
      net::post(self->stream_.get_executor(), [self, s, body] {
        if (!s.ok()) {
          return self->SendError(http::status::internal_server_error,
                                 "store read failed: " + s.ToString());
        }
        self->RecordAccess("host list");
        auto res = std::make_shared<Response>(http::status::ok, self->request_.version());
        res->set(http::field::content_type, "application/json");
        res->body() = std::move(*body);
        self->Send(std::move(res));
      });
    });
  }

  // --- GET /metrics -------------------------------------------------------
  void HandleMetrics() {
    std::vector<Metric> m = server_->metrics ? server_->metrics() : std::vector<Metric>{};
    const auto& c = server_->counters;
    m.push_back({"api_connections", "open HTTPS API connections", "gauge",
                 static_cast<double>(c.connections.load())});
    m.push_back({"api_requests_total", "HTTPS API requests read", "counter",
                 static_cast<double>(c.requests.load())});
    m.push_back({"api_denied_total", "HTTPS API requests refused with 401 or 403", "counter",
                 static_cast<double>(c.denied.load())});
    m.push_back({"api_tls_failures_total", "failed TLS handshakes on the export listener",
                 "counter", static_cast<double>(c.tls_failures.load())});
    m.push_back({"export_events_total", "events sent by GET /v1/events", "counter",
                 static_cast<double>(c.events_exported.load())});
    m.push_back({"tail_sessions", "open GET /v1/tail streams", "gauge",
                 static_cast<double>(c.tail_sessions.load())});
    m.push_back({"tail_events_total", "events sent by GET /v1/tail", "counter",
                 static_cast<double>(c.tail_events.load())});
    m.push_back({"tail_missed_total",
                 "events dropped from the queues of tail subscribers that could not keep up",
                 "counter", static_cast<double>(c.tail_missed.load())});
    m.push_back({"export_streams", "GET /v1/events responses in flight", "gauge",
                 static_cast<double>(c.streams.load())});
    auto res = std::make_shared<Response>(http::status::ok, request_.version());
    res->set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res->body() = PrometheusText(m);
    Send(std::move(res));
  }

  void RecordAccess(const std::string& what) {
    server_->audit->Record(SelfEventKind::kApiAccess, peer_address_,
                           what + " by " + Who() + " from " + peer_address_,
                           {{"who", Who()}, {"path", path_}});
  }

  static bool GlobMatchHost(const std::string& pattern, const std::string& host) {
    EventFilter f;
    f.host = pattern;
    v1::Event e;
    e.set_host(host);
    return f.Matches(e);
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
  std::shared_ptr<ExportHttpsServer::Impl> server_;
  std::string peer_address_;
  v1::Peer peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::request<http::empty_body> request_;
  bool keep_alive_ = true;
  std::string path_;
  std::optional<ApiPrincipal> principal_;

  EventsRequest events_req_;
  bool holds_stream_ = false;
  std::shared_ptr<Page> page_;
  size_t next_ = 0;
  bool trailer_written_ = false;
  std::string chunk_;
  std::optional<http::response<http::empty_body>> header_;
  std::optional<http::response_serializer<http::empty_body>> serializer_;

  // /v1/tail state (strand only).
  TailRequest tail_req_;
  std::shared_ptr<TailSubscriber> sub_;
  bool counts_tail_ = false;
  bool tail_live_ = false;     // the store phase is over: events come from sub_
  bool tail_writing_ = false;  // one chunk write at a time
  bool tail_done_ = false;
  uint64_t tail_pos_ = 0;  // every matching event with seq <= tail_pos_ has been sent
  std::string tail_buf_;
  std::optional<net::steady_timer> heartbeat_;
  char peer_byte_[1] = {};
};

}  // namespace

void ExportHttpsServer::Impl::Accept(tcp::acceptor* acc) {
  acc->async_accept(net::make_strand(io),
                    [self = shared_from_this(), acc](error_code ec, tcp::socket sock) {
                      if (ec == net::error::operation_aborted || !acc->is_open()) return;
                      if (!ec) {
                        if (self->counters.connections.load() >= self->options.max_connections) {
                          sock.close(ec);
                        } else {
                          sock.set_option(tcp::no_delay(true), ec);
                          std::make_shared<Session>(std::move(sock), self)->Run();
                        }
                      }
                      self->Accept(acc);
                    });
}

ExportHttpsServer::ExportHttpsServer(net::io_context& io, const ExportServerOptions& options,
                                     const Store* store, SelfAudit* audit, MetricsSource metrics,
                                     LiveTailHub* tail_hub)
    : impl_(std::make_shared<Impl>(io, options, store, audit, std::move(metrics), tail_hub)) {
  if (options.addresses.empty()) throw std::runtime_error("no [[listen.export]] address");
  for (const auto& a : options.addresses) impl_->acceptors.push_back(BindAcceptor(impl_->io, a));
  for (auto& acc : impl_->acceptors) impl_->Accept(acc.get());
}

ExportHttpsServer::~ExportHttpsServer() {
  // Page reads in flight finish (they are bounded); nothing new starts.
  impl_->pool.join();
}

std::vector<std::string> ExportHttpsServer::BoundAddresses() const {
  std::vector<std::string> out;
  for (const auto& acc : impl_->acceptors) out.push_back(LocalAddress(*acc));
  return out;
}

void ExportHttpsServer::Stop() {
  net::post(impl_->io, [impl = impl_] {
    for (auto& acc : impl->acceptors) {
      error_code ec;
      acc->close(ec);
    }
  });
}

}  // namespace trailkeep
