#include "server/sinks/export_https_server.h"

#include <atomic>
#include <charconv>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
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
#include "server/net/connection_gate.h"
#include "server/net/tls_context.h"
#include "server/net/tls_syslog_listener.h"
#include "server/report/report_format.h"
#include "server/selfaudit/self_audit.h"
#include "server/sinks/chain_verify_job.h"
#include "server/sinks/export_format.h"
#include "server/sinks/export_request.h"
#include "server/sinks/integrity_listing.h"
#include "server/sinks/live_tail_hub.h"
#include "server/sinks/store_metrics.h"
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

struct ServerCounters {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> denied{0};
  std::atomic<uint64_t> events_exported{0};
  std::atomic<uint64_t> tail_sessions{0};
  std::atomic<uint64_t> tail_events{0};
  std::atomic<uint64_t> tail_missed{0};
  std::atomic<uint64_t> tls_failures{0};
  std::atomic<uint64_t> connections_refused{0};
  std::atomic<uint64_t> connections_evicted{0};
  std::atomic<size_t> streams{0};
  std::atomic<size_t> verifies{0};
  std::atomic<uint64_t> verify_runs{0};
};

}  // namespace

struct ExportHttpsServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(net::io_context& io_in, const ExportServerOptions& o, const Store* s, SelfAudit* a,
       MetricsSource m, LiveTailHub* h, ChainKeyLookup k)
      : io(io_in),
        options(o),
        store(s),
        audit(a),
        metrics(std::move(m)),
        hub(h),
        chain_keys(std::move(k)),
        pool(static_cast<size_t>(std::max(1, o.read_threads))),
        verify_pool(1),
        gate(ConnectionLimits{o.max_connections, o.reserved_connections, o.max_connections_per_peer,
                              o.max_handshakes_per_peer}) {
    TlsOptions tls = o.tls;
    tls.client_auth = tls.ca_file.empty() ? ClientAuth::kNone : ClientAuth::kOptional;
    tls.permitted_peers.clear();
    tls.permitted_fingerprints.clear();
    ctx = MakeServerTlsContext(tls);
    auto loaded = LoadAuthenticator();
    if (!loaded.ok()) throw std::runtime_error(loaded.status().message());
    auth = std::move(loaded).value();
  }

  void Accept(tcp::acceptor* acc);
  void Admit(tcp::socket sock);

  // The options' tokens plus the token file's, and the client rules.
  Result<std::shared_ptr<const ApiAuthenticator>> LoadAuthenticator() const {
    std::vector<TokenEntry> tokens = options.tokens;
    if (!options.token_file.empty()) {
      auto loaded = LoadTokenFile(options.token_file);
      if (!loaded.ok()) return loaded.status();
      for (auto& t : loaded.value()) tokens.push_back(std::move(t));
    }
    return std::shared_ptr<const ApiAuthenticator>(
        std::make_shared<ApiAuthenticator>(std::move(tokens), options.clients));
  }

  // The authenticator in force; a request keeps the one it started with.
  std::shared_ptr<const ApiAuthenticator> Auth() const {
    std::lock_guard<std::mutex> lock(auth_mu);
    return auth;
  }

  net::io_context& io;
  const ExportServerOptions options;
  const Store* const store;
  SelfAudit* const audit;
  const MetricsSource metrics;
  LiveTailHub* const hub;
  const ChainKeyLookup chain_keys;
  std::shared_ptr<ssl::context> ctx;
  mutable std::mutex auth_mu;
  std::shared_ptr<const ApiAuthenticator> auth;  // GUARDED_BY(auth_mu); replaced on SIGHUP
  net::thread_pool pool;                         // store reads
  net::thread_pool verify_pool;                  // chain re-verification (long scans)
  ConnectionGate gate;                           // admission by peer address, before TLS
  ServerCounters counters;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;

  // Open /v1/tail streams: each entry posts a re-check of the stream's
  // credentials to its session, run after the tokens are reloaded.
  std::mutex tails_mu;
  std::map<uint64_t, std::function<void()>> tail_rechecks;  // GUARDED_BY(tails_mu)
  uint64_t next_tail_id = 0;                                // GUARDED_BY(tails_mu)
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
  Session(tcp::socket&& socket, std::shared_ptr<ExportHttpsServer::Impl> server,
          std::unique_ptr<ConnectionGate::Slot> slot, std::string peer_address)
      : stream_(std::move(socket), *server->ctx),
        server_(std::move(server)),
        slot_(std::move(slot)),
        peer_address_(std::move(peer_address)) {
    ++server_->counters.connections;
  }
  ~Session() {
    UnregisterTail();
    if (sub_) server_->hub->Unsubscribe(sub_);
    if (counts_tail_) --server_->counters.tail_sessions;
    --server_->counters.connections;
    if (holds_stream_) --server_->counters.streams;
    if (holds_verify_) --server_->counters.verifies;
  }

  void Run() {
    // The gate closes this connection to make room when it is the oldest
    // that has not authenticated.
    slot_->SetEvict([weak = weak_from_this(), exec = stream_.get_executor()] {
      net::post(exec, [weak] {
        if (auto self = weak.lock()) beast::get_lowest_layer(self->stream_).close();
      });
    });
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
    // A verified client certificate is an identity: the reserve is open to it.
    if (peer_.authenticated()) {
      slot_->Authenticated();
    } else {
      slot_->HandshakeDone();
    }
    DoRead();
  }

  void DoRead() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(64 * 1024);
    // Until a first request arrives the connection has proved nothing: a
    // short deadline, so idle sockets cannot hold their slots for long.
    beast::get_lowest_layer(stream_).expires_after(std::chrono::milliseconds(
        read_any_ ? server_->options.idle_timeout_ms : server_->options.first_request_timeout_ms));
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
    read_any_ = true;
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
    } else if (path_ == "/v1/hosts" || path_ == "/metrics" || path_ == "/v1/integrity" ||
               path_ == "/v1/verify" || path_.starts_with(kReportPrefix)) {
      needed = kScopeAdmin;
    } else {
      return SendError(http::status::not_found, "no such endpoint: " + path_);
    }
    if (!Authenticate()) return;
    slot_->Authenticated();  // valid credentials: never evicted, may use the reserve
    if (!principal_->Has(needed)) {
      return Deny(http::status::forbidden, std::string("the ") + ScopeNames(needed) +
                                               " scope is required; " + principal_->name + " has " +
                                               ScopeNames(principal_->scopes));
    }
    if (path_ == "/v1/events") return HandleEvents(params.value());
    if (path_ == "/v1/tail") return HandleTail(params.value());
    if (path_ == "/v1/integrity") return HandleIntegrity(params.value());
    if (path_ == "/v1/verify") return HandleVerify(params.value());
    if (path_.starts_with(kReportPrefix)) return HandleReport(params.value());
    if (!params.value().empty()) {
      return SendError(http::status::bad_request, path_ + " takes no parameters");
    }
    if (path_ == "/v1/hosts") return HandleHosts();
    return HandleMetrics();
  }

  // Sets principal_, or answers 401/403 and returns false.
  bool Authenticate() {
    principal_.reset();
    bearer_.clear();
    // Two credentials are ambiguous (which one did a proxy check?): refused.
    if (request_.count(http::field::authorization) > 1) {
      SendError(http::status::bad_request, "more than one Authorization header");
      return false;
    }
    auto it = request_.find(http::field::authorization);
    if (it != request_.end()) {
      auto token = BearerToken(std::string_view(it->value().data(), it->value().size()));
      if (!token.ok()) {
        Deny(http::status::unauthorized, token.status().message());
        return false;
      }
      bearer_ = std::string(token.value());
      principal_ = server_->Auth()->FromToken(bearer_);
      if (!principal_) {
        Deny(http::status::unauthorized, "invalid token");
        return false;
      }
      return true;
    }
    if (peer_.authenticated()) {
      std::vector<std::string> names(peer_.cert_dns_names().begin(), peer_.cert_dns_names().end());
      // The CN as parsed at the handshake ("" when ambiguous), never a
      // search of the subject text, where "CN=" can sit inside any value.
      if (!peer_.cert_common_name().empty()) names.push_back(peer_.cert_common_name());
      principal_ = server_->Auth()->FromCertificate(names);
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

  // Records an API_ACCESS / API_DENIED event. A presented certificate adds
  // its subject and fingerprint: the principal's name alone would not show
  // which certificate claimed it.
  void Audit(SelfEventKind kind, const std::string& message,
             std::vector<std::pair<std::string, std::string>> fields) {
    if (!peer_.cert_sha256().empty()) {
      fields.emplace_back("cert_subject", peer_.cert_subject());
      fields.emplace_back("cert_sha256", peer_.cert_sha256());
    }
    server_->audit->Record(kind, peer_address_, message, fields);
  }

  void Deny(http::status status, const std::string& reason) {
    RecordDenied(static_cast<unsigned>(status), "API request refused", reason);
    SendError(status, reason);
  }

  std::string_view Target() const {
    return std::string_view(request_.target().data(), request_.target().size());
  }

  // The API_DENIED record; the target's secrets are redacted (RedactTarget).
  void RecordDenied(unsigned code, const std::string& what, const std::string& reason) {
    ++server_->counters.denied;
    Audit(SelfEventKind::kApiDenied,
          what + " (" + std::to_string(code) + ") for " + Who() + " from " + peer_address_ + ": " +
              reason,
          {{"who", Who()},
           {"status", std::to_string(code)},
           {"path", RedactTarget(Target())},
           {"reason", reason}});
  }

  // A 500 whose cause (file names, store internals) goes to the operational
  // log only: the body says what failed, not how.
  void SendInternalError(const std::string& what, const Status& cause) {
    spdlog::error("API {} for {} ({}): {}", what, Who(), RedactTarget(Target()), cause.ToString());
    SendError(http::status::internal_server_error, what);
  }

  void DenyHost(const std::string& host) {
    Deny(http::status::forbidden,
         "host '" + host + "' is outside the hosts allowed for " + principal_->name);
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

  // 503 with Retry-After: a limit on concurrent work was reached.
  void SendBusy(const char* retry_after_seconds, const std::string& message) {
    auto res = std::make_shared<Response>(http::status::service_unavailable, request_.version());
    res->set(http::field::content_type, "application/json");
    res->set(http::field::retry_after, retry_after_seconds);
    res->body() = ErrorBody(503, message);
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
      return DenyHost(events_req_.filter.host);
    }
    events_req_.filter.allowed_hosts = principal_->hosts;
    if (server_->counters.streams.fetch_add(1) >= server_->options.max_streams) {
      --server_->counters.streams;
      return SendBusy("1", "too many export requests in flight; retry");
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
      return SendInternalError("store read failed", page->status);
    }
    page_ = std::move(page);
    next_ = 0;
    server_->counters.events_exported += page_->events.size();
    const auto& f = events_req_.filter;
    Audit(SelfEventKind::kApiAccess,
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
      return DenyHost(tail_req_.filter.host);
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
    RegisterTail([weak, exec] {
      net::post(exec, [weak] {
        if (auto self = weak.lock()) self->RecheckTailAccess();
      });
    });
    Audit(SelfEventKind::kApiAccess,
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
    if (tail_done_ || tail_revoked_) return;
    tail_buf_.clear();
    if (!page->status.ok()) {
      spdlog::error("API tail store read failed for {}: {}", Who(), page->status.ToString());
      tail_buf_ = ErrorBody(500, "store read failed");
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

  // Sends what the subscriber queued (live phase), when no write is pending,
  // in chunks of about kChunkBytes: taken events wait in tail_pending_ (they
  // share the hub's batches), so a slow reader holds one chunk of text, not
  // its whole queue formatted.
  void TailPump() {
    if (!tail_live_ || tail_writing_ || tail_done_ || tail_revoked_) return;
    tail_buf_.clear();
    uint64_t n = 0;
    while (tail_buf_.empty()) {
      if (tail_pending_.empty()) {
        auto taken = sub_->Take();
        if (taken.overflowed) return TailOverflowed(taken.missed);
        tail_seen_ = std::max(tail_seen_, taken.seen_seq);
        if (taken.events.empty()) break;
        tail_pending_.assign(taken.events.begin(), taken.events.end());
      }
      while (!tail_pending_.empty() && tail_buf_.size() < kChunkBytes) {
        const std::shared_ptr<const v1::Event> e = std::move(tail_pending_.front());
        tail_pending_.pop_front();
        if (e->ingest_seq() <= tail_pos_) continue;  // already sent from the store
        tail_buf_ += EventToJson(*e);
        tail_buf_ += '\n';
        tail_pos_ = e->ingest_seq();
        ++n;
      }
    }
    server_->counters.tail_events += n;
    // Commits that matched nothing move the resume point too (heartbeats show it).
    if (tail_pending_.empty()) tail_pos_ = std::max(tail_pos_, tail_seen_);
    if (tail_buf_.empty()) return;
    TailWrite([self = shared_from_this()] { self->TailPump(); });
  }

  // Too slow: the hub dropped our queue. Say so and end; the client resumes
  // from the store with cursor = tail_pos_ (everything up to it was sent).
  void TailOverflowed(uint64_t missed) {
    server_->counters.tail_missed += missed;
    tail_buf_ = "{\"missed\": " + std::to_string(missed) + ", \"resume_cursor\": \"" +
                std::to_string(tail_pos_) + "\"}\n";
    server_->hub->Unsubscribe(sub_);
    TailWrite([self = shared_from_this()] { self->TailEnd(true); });
  }

  std::string HeartbeatLine() const {
    return "{\"heartbeat\": \"" + FormatRfc3339Micros(NowMicros()) + "\", \"cursor\": \"" +
           std::to_string(tail_pos_) + "\"}\n";
  }

  void ArmHeartbeat() {
    if (tail_done_) return;
    heartbeat_->expires_after(std::chrono::milliseconds(server_->options.tail_heartbeat_ms));
    heartbeat_->async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->tail_done_ || !self->tail_live_ || self->tail_writing_ ||
          self->tail_revoked_) {
        return;
      }
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
                       if (self->tail_revoked_ && !self->revoke_sent_) {
                         return self->EndRevokedTail();
                       }
                       self->ArmHeartbeat();
                       next();
                     });
  }

  // A tail outlives the tokens in force when it started: after a reload
  // (SIGHUP) each open tail checks its token again, and one whose token is
  // gone, lost the tail scope or changed host patterns is ended. Certificate
  // rules come from the configuration, which a reload does not change.
  void RegisterTail(std::function<void()> recheck) {
    std::lock_guard<std::mutex> lock(server_->tails_mu);
    tail_id_ = ++server_->next_tail_id;
    server_->tail_rechecks.emplace(tail_id_, std::move(recheck));
  }

  void UnregisterTail() {
    if (tail_id_ == 0) return;
    std::lock_guard<std::mutex> lock(server_->tails_mu);
    server_->tail_rechecks.erase(tail_id_);
    tail_id_ = 0;
  }

  void RecheckTailAccess() {
    if (tail_done_ || tail_revoked_ || principal_->method != "token") return;
    const auto now = server_->Auth()->FromToken(bearer_);
    if (now && now->Has(kScopeTail) && now->hosts == principal_->hosts) return;
    tail_revoked_ = true;
    RecordDenied(401, "API tail ended", "the token no longer grants this tail (tokens reloaded)");
    if (!tail_writing_) EndRevokedTail();
  }

  // The last line of a revoked tail, then the end of the response.
  void EndRevokedTail() {
    if (tail_done_ || revoke_sent_) return;
    revoke_sent_ = true;
    tail_buf_ = ErrorBody(401, "access revoked: the token was removed or changed");
    TailWrite([self = shared_from_this()] { self->TailEnd(true); });
  }

  // Ends the tail: unsubscribes; `graceful` ends the chunked body and closes.
  void TailEnd(bool graceful) {
    if (tail_done_) return;
    tail_done_ = true;
    UnregisterTail();
    if (sub_) {
      server_->hub->Unsubscribe(sub_);
      sub_.reset();
    }
    if (heartbeat_) heartbeat_->cancel();
    tail_pending_.clear();
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
      Status s = server->store->ListHosts([&](const v1::HostState& h) {
        if (!self->principal_->MaySee(h.name())) return;
        if (!first) *body += ",\n";
        first = false;
        *body += HostStateToJson(h);
      });
      *body += "]\n";
      net::post(self->stream_.get_executor(), [self, s, body] {
        if (!s.ok()) {
          return self->SendInternalError("store read failed", s);
        }
        self->RecordAccess("host list");
        auto res = std::make_shared<Response>(http::status::ok, self->request_.version());
        res->set(http::field::content_type, "application/json");
        res->body() = std::move(*body);
        self->Send(std::move(res));
      });
    });
  }

  // --- GET /v1/integrity ---------------------------------------------------
  void HandleIntegrity(const QueryParams& params) {
    auto parsed = ParseIntegrityRequest(params, NowMicros(), server_->options.default_limit,
                                        server_->options.max_limit);
    if (!parsed.ok()) return SendError(http::status::bad_request, parsed.status().message());
    if (!parsed.value().host.empty() && !principal_->HostPatternAllowed(parsed.value().host)) {
      return DenyHost(parsed.value().host);
    }
    auto server = server_;
    net::post(server->pool, [self = shared_from_this(), server, req = std::move(parsed).value()] {
      auto listing = ListIntegrity(*server->store, req, self->principal_->hosts);
      std::string body = listing.ok() ? IntegrityListingBody(listing.value(), req.ndjson) : "";
      Status s = listing.status();
      net::post(self->stream_.get_executor(), [self, s, req, body = std::move(body)]() mutable {
        if (!s.ok()) {
          return self->SendInternalError("store read failed", s);
        }
        self->RecordAccess("integrity listing (" + req.filter_text + ")");
        auto res = std::make_shared<Response>(http::status::ok, self->request_.version());
        res->set(http::field::content_type,
                 req.ndjson ? "application/x-ndjson" : "application/json");
        res->set(http::field::cache_control, "no-store");
        res->body() = std::move(body);
        self->Send(std::move(res));
      });
    });
  }

  // --- GET /v1/report/NAME ---------------------------------------------------
  // The same Report as `trailkeepd report`, built on the read pool.
  static constexpr std::string_view kReportPrefix = "/v1/report/";

  void HandleReport(const QueryParams& params) {
    auto parsed = ParseReportRequest(path_.substr(kReportPrefix.size()), params, NowMicros(),
                                     server_->options.max_limit);
    if (!parsed.ok()) {
      return SendError(parsed.status().code() == Status::Code::kNotFound
                           ? http::status::not_found
                           : http::status::bad_request,
                       parsed.status().message());
    }
    // As for /v1/events: a host= no allowed pattern covers is a 403, and
    // every row is filtered by the caller's patterns whatever the glob.
    auto& options = parsed.value().options;
    if (!options.host.empty() && !principal_->HostPatternAllowed(options.host)) {
      return DenyHost(options.host);
    }
    options.allowed_hosts = principal_->hosts;
    auto server = server_;
    net::post(server->pool, [self = shared_from_this(), server, req = std::move(parsed).value()] {
      auto report = BuildReport(*server->store, req.options);
      std::string body;
      if (report.ok())
        body = req.json ? ReportToJson(report.value()) : ReportToText(report.value());
      Status s = report.status();
      net::post(self->stream_.get_executor(), [self, s, req, body = std::move(body)]() mutable {
        if (!s.ok()) {
          return self->SendInternalError("store read failed", s);
        }
        self->RecordAccess("report " + req.filter_text);
        auto res = std::make_shared<Response>(http::status::ok, self->request_.version());
        res->set(http::field::content_type,
                 req.json ? "application/json" : "text/plain; charset=utf-8");
        res->set(http::field::cache_control, "no-store");
        res->body() = std::move(body);
        self->Send(std::move(res));
      });
    });
  }

  // --- GET /v1/verify -------------------------------------------------------
  // The scan runs on verify_pool; its lines are posted to the strand and
  // written as chunks. A failed write cancels the scan.
  static constexpr uint64_t kVerifyProgressEvery = 50'000;

  void HandleVerify(const QueryParams& params) {
    auto host = ParseVerifyRequest(params);
    if (!host.ok()) return SendError(http::status::bad_request, host.status().message());
    if (!principal_->MaySee(host.value())) return DenyHost(host.value());
    if (!server_->chain_keys) {
      return SendError(http::status::service_unavailable, "chain verification is not available");
    }
    if (server_->counters.verifies.fetch_add(1) >= server_->options.max_verifies) {
      --server_->counters.verifies;
      return SendBusy("5", "too many verifications running; retry");
    }
    holds_verify_ = true;
    ++server_->counters.verify_runs;
    verify_host_ = host.value();
    verify_cancel_ = std::make_shared<std::atomic<bool>>(false);
    auto server = server_;
    net::post(server->verify_pool,
              [self = shared_from_this(), server, host = verify_host_, cancel = verify_cancel_] {
                self->RunVerify(*server, host, cancel.get());
              });
  }

  // On verify_pool.
  void RunVerify(const ExportHttpsServer::Impl& server, const std::string& host,
                 const std::atomic<bool>* cancel) {
    auto to_strand = [self = shared_from_this()](std::function<void(Session&)> fn) {
      net::post(self->stream_.get_executor(), [self, fn = std::move(fn)] { fn(*self); });
    };
    std::string why;
    auto key = server.chain_keys(host, &why);
    StoredChainAudit audit;
    audit.key = key ? *key : std::string();
    audit.enterprise_number = server.options.enterprise_number;
    audit.progress_every = kVerifyProgressEvery;
    audit.progress = [&](uint64_t n) {
      to_strand([line = VerifyProgressJson(host, n)](Session& s) { s.VerifyAppend(line, false); });
    };
    audit.cancel = cancel;
    // An unknown host is a 404 even when it has no key: check the store first.
    bool known = false;
    Status listed = server.store->ListHosts([&](const v1::HostState& h) {
      if (h.name() == host) known = true;
    });
    if (!listed.ok() || !known || !key) {
      // The reasons name key files and store internals: the log gets them.
      if (!listed.ok()) spdlog::error("API verify: store read failed: {}", listed.ToString());
      if (listed.ok() && known) spdlog::warn("API verify of {}: {}", host, why);
      const std::string message = !listed.ok() ? "store read failed"
                                  : !known
                                      ? "no host '" + host + "' in the store (see GET /v1/hosts)"
                                      : "cannot verify host '" + host +
                                            "': no HMAC key the collector can read (its log "
                                            "says why)";
      const auto status = !listed.ok() ? http::status::internal_server_error
                          : !known     ? http::status::not_found
                                       : http::status::conflict;
      return to_strand([status, message](Session& s) {
        s.ReleaseVerify();
        s.SendError(status, message);
      });
    }
    to_strand([](Session& s) { s.StartVerifyStream(); });
    auto result = AuditStoredChain(*server.store, host, audit);
    std::string tail;
    if (result.ok()) {
      for (const auto& issue : result.value().issues) tail += VerifyIssueJson(issue);
      tail += VerifyResultJson(host, result.value());
    } else {
      spdlog::error("API verify of {} failed: {}", host, result.status().ToString());
      tail = ErrorBody(500, "verification failed");
    }
    to_strand([tail = std::move(tail)](Session& s) { s.VerifyAppend(tail, true); });
  }

  void StartVerifyStream() {
    RecordAccess("chain verification of " + verify_host_);
    StartChunked("application/x-ndjson", keep_alive_, {{"X-Accel-Buffering", "no"}},
                 [self = shared_from_this()](error_code ec) {
                   if (ec) return self->VerifyFailed();
                   self->verify_started_ = true;
                   self->VerifyFlush();
                 });
  }

  void VerifyAppend(const std::string& lines, bool last) {
    verify_out_ += lines;
    verify_last_ = verify_last_ || last;
    VerifyFlush();
  }

  // Writes what is queued, one chunk at a time; ends the body after the last.
  void VerifyFlush() {
    if (!verify_started_ || verify_writing_ || !holds_verify_) return;
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(server_->options.write_timeout_ms));
    if (verify_out_.empty()) {
      if (!verify_last_) return;
      verify_writing_ = true;
      net::async_write(stream_, http::make_chunk_last(),
                       [self = shared_from_this()](error_code ec, size_t) {
                         self->verify_writing_ = false;
                         self->ReleaseVerify();
                         if (ec) return;
                         self->AfterResponse();
                       });
      return;
    }
    chunk_.swap(verify_out_);
    verify_out_.clear();
    verify_writing_ = true;
    net::async_write(stream_, http::make_chunk(net::buffer(chunk_)),
                     [self = shared_from_this()](error_code ec, size_t) {
                       self->verify_writing_ = false;
                       if (ec) return self->VerifyFailed();
                       self->VerifyFlush();
                     });
  }

  void VerifyFailed() {
    if (verify_cancel_) verify_cancel_->store(true);
    ReleaseVerify();
  }

  void ReleaseVerify() {
    if (holds_verify_) {
      holds_verify_ = false;
      --server_->counters.verifies;
    }
    verify_started_ = false;
    verify_last_ = false;
    verify_out_.clear();
    serializer_.reset();
    header_.reset();
  }

  // --- GET /metrics -------------------------------------------------------
  void HandleMetrics() {
    auto server = server_;
    net::post(server->pool, [self = shared_from_this(), server] {
      std::vector<Metric> m = server->metrics ? server->metrics() : std::vector<Metric>{};
      AppendApiMetrics(server->counters, &m);
      Status s = AppendStoreMetrics(*server->store, &m);
      const ApiPrincipal& who = *self->principal_;
      auto body = std::make_shared<std::string>(PrometheusText(VisibleMetrics(
          std::move(m), who.Restricted(), [&who](const std::string& h) { return who.MaySee(h); })));
      net::post(self->stream_.get_executor(), [self, s, body] {
        if (!s.ok()) {
          return self->SendInternalError("store read failed", s);
        }
        auto res = std::make_shared<Response>(http::status::ok, self->request_.version());
        res->set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res->body() = std::move(*body);
        self->Send(std::move(res));
      });
    });
  }

  static void AppendApiMetrics(const ServerCounters& c, std::vector<Metric>* out) {
    auto add = [out](const char* name, const char* help, const char* type, double v) {
      out->push_back({name, help, type, v, ""});
    };
    auto d = [](auto v) { return static_cast<double>(v); };
    add("api_connections", "open HTTPS API connections", "gauge", d(c.connections.load()));
    add("api_requests_total", "HTTPS API requests read", "counter", d(c.requests.load()));
    add("api_denied_total", "HTTPS API requests refused with 401 or 403", "counter",
        d(c.denied.load()));
    add("api_tls_failures_total", "failed TLS handshakes on the export listener", "counter",
        d(c.tls_failures.load()));
    add("api_connections_refused_total",
        "HTTPS API connections refused at accept by the per-peer or total limits", "counter",
        d(c.connections_refused.load()));
    add("api_connections_evicted_total",
        "unauthenticated HTTPS API connections closed to make room for new ones", "counter",
        d(c.connections_evicted.load()));
    add("export_events_total", "events sent by GET /v1/events", "counter",
        d(c.events_exported.load()));
    add("export_streams", "GET /v1/events responses in flight", "gauge", d(c.streams.load()));
    add("tail_sessions", "open GET /v1/tail streams", "gauge", d(c.tail_sessions.load()));
    add("tail_events_total", "events sent by GET /v1/tail", "counter", d(c.tail_events.load()));
    add("tail_missed_total",
        "events dropped from the queues of tail subscribers that could not keep up", "counter",
        d(c.tail_missed.load()));
    add("verify_running", "GET /v1/verify runs in progress", "gauge", d(c.verifies.load()));
    add("verify_runs_total", "GET /v1/verify runs started", "counter", d(c.verify_runs.load()));
  }

  void RecordAccess(const std::string& what) {
    Audit(SelfEventKind::kApiAccess, what + " by " + Who() + " from " + peer_address_,
          {{"who", Who()}, {"path", path_}});
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
  std::shared_ptr<ExportHttpsServer::Impl> server_;
  std::unique_ptr<ConnectionGate::Slot> slot_;
  std::string peer_address_;
  bool read_any_ = false;  // a request has been read on this connection
  v1::Peer peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::request<http::empty_body> request_;
  bool keep_alive_ = true;
  std::string path_;
  std::optional<ApiPrincipal> principal_;
  std::string bearer_;  // the token presented, if any (tails re-check it on reload)

  EventsRequest events_req_;
  bool holds_stream_ = false;

  // /v1/verify state (strand only, except *verify_cancel_).
  bool holds_verify_ = false;
  bool verify_started_ = false;  // the chunked header is out
  bool verify_writing_ = false;
  bool verify_last_ = false;  // the final lines are queued
  std::string verify_host_;
  std::string verify_out_;  // lines not yet written
  std::shared_ptr<std::atomic<bool>> verify_cancel_;
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
  uint64_t tail_id_ = 0;       // in server_->tail_rechecks while not 0
  bool tail_revoked_ = false;  // the token no longer grants the tail: send nothing more
  bool revoke_sent_ = false;   // ... but the line that says so
  bool tail_live_ = false;     // the store phase is over: events come from sub_
  bool tail_writing_ = false;  // one chunk write at a time
  bool tail_done_ = false;
  uint64_t tail_pos_ = 0;   // every matching event with seq <= tail_pos_ has been sent
  uint64_t tail_seen_ = 0;  // highest seq the hub published to us (matching or not)
  std::deque<std::shared_ptr<const v1::Event>> tail_pending_;  // taken, not yet formatted
  std::string tail_buf_;
  std::optional<net::steady_timer> heartbeat_;
  char peer_byte_[1] = {};
};

}  // namespace

void ExportHttpsServer::Impl::Accept(tcp::acceptor* acc) {
  acc->async_accept(net::make_strand(io),
                    [self = shared_from_this(), acc](error_code ec, tcp::socket sock) {
                      if (ec == net::error::operation_aborted || !acc->is_open()) return;
                      if (!ec) self->Admit(std::move(sock));
                      self->Accept(acc);
                    });
}

// Before any TLS: the gate decides by the peer's address (connection_gate.h).
void ExportHttpsServer::Impl::Admit(tcp::socket sock) {
  error_code ec;
  const auto ep = sock.remote_endpoint(ec);
  if (ec) return;  // already gone
  const std::string address =
      FormatEndpoint(ep.address().to_string(), ep.address().is_v6(), ep.port());
  auto admission = gate.Admit(ep.address().to_string());
  if (!admission.slot) {
    ++counters.connections_refused;
    // SelfAudit summarises a flood of these (per kind and window).
    audit->Record(SelfEventKind::kConnectionLimit, address,
                  "export API: connection from " + address + " refused: " + admission.refused,
                  {{"listener", "export"}, {"reason", admission.refused}});
    sock.close(ec);
    return;
  }
  if (admission.evicted_another) {
    ++counters.connections_evicted;
    audit->Record(
        SelfEventKind::kConnectionLimit, address,
        "export API: the oldest unauthenticated connection was closed to admit " + address,
        {{"listener", "export"}, {"reason", "evicted"}});
  }
  sock.set_option(tcp::no_delay(true), ec);
  std::make_shared<Session>(std::move(sock), shared_from_this(), std::move(admission.slot), address)
      ->Run();
}

ExportHttpsServer::ExportHttpsServer(net::io_context& io, const ExportServerOptions& options,
                                     const Store* store, SelfAudit* audit, MetricsSource metrics,
                                     LiveTailHub* tail_hub, ChainKeyLookup chain_keys)
    : impl_(std::make_shared<Impl>(io, options, store, audit, std::move(metrics), tail_hub,
                                   std::move(chain_keys))) {
  if (options.addresses.empty()) throw std::runtime_error("no [[listen.export]] address");
  for (const auto& a : options.addresses) impl_->acceptors.push_back(BindAcceptor(impl_->io, a));
  for (auto& acc : impl_->acceptors) impl_->Accept(acc.get());
}

ExportHttpsServer::~ExportHttpsServer() {
  // Page reads in flight finish (they are bounded); nothing new starts.
  impl_->pool.join();
  impl_->verify_pool.join();
}

Status ExportHttpsServer::ReloadTokens() {
  auto loaded = impl_->LoadAuthenticator();
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"token_file", impl_->options.token_file}};
  if (!loaded.ok()) {
    impl_->audit->Record(
        SelfEventKind::kApiTokensReloadFailed, "",
        "API tokens not reloaded, the previous tokens stay in force: " + loaded.status().message(),
        fields);
    return loaded.status();
  }
  {
    std::lock_guard<std::mutex> lock(impl_->auth_mu);
    impl_->auth = std::move(loaded).value();
  }
  impl_->audit->Record(SelfEventKind::kApiTokensReloaded, "", "API tokens reloaded", fields);
  {
    // Each re-check only posts to its session's strand.
    std::lock_guard<std::mutex> lock(impl_->tails_mu);
    for (const auto& [id, recheck] : impl_->tail_rechecks) recheck();
  }
  return Status::Ok();
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
