#include "server/sinks/api_session.h"

#include <chrono>
#include <cstdio>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include "server/net/tls_context.h"
#include "server/sinks/api_endpoints.h"
#include "server/sinks/api_events.h"
#include "server/sinks/api_tail.h"
#include "server/sinks/api_verify.h"

namespace trailkeep {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

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

}  // namespace

std::string ApiErrorBody(unsigned status, const std::string& message) {
  return "{\"error\": " + JsonString(message) + ", \"status\": " + std::to_string(status) + "}\n";
}

ApiSession::ApiSession(tcp::socket&& socket, std::shared_ptr<ExportHttpsServer::Impl> server,
                       std::unique_ptr<ConnectionGate::Slot> slot, std::string peer_address)
    : ctx_(server->tls->context()),
      stream_(std::move(socket), *ctx_),
      server_(std::move(server)),
      slot_(std::move(slot)),
      peer_address_(std::move(peer_address)),
      writer_(stream_, server_->options.write_timeout_ms) {
  ++server_->counters.connections;
}

ApiSession::~ApiSession() {
  tail_.reset();  // unsubscribes
  --server_->counters.connections;
  events_.reset();
  verify_.reset();
}

EventsResponse& ApiSession::events() {
  if (!events_) events_ = std::make_unique<EventsResponse>(*this);
  return *events_;
}

TailStream& ApiSession::tail() {
  if (!tail_) tail_ = std::make_unique<TailStream>(*this);
  return *tail_;
}

VerifyStream& ApiSession::verify() {
  if (!verify_) verify_ = std::make_unique<VerifyStream>(*this);
  return *verify_;
}

void ApiSession::Run() {
  // The gate closes this connection to make room when it is the oldest that
  // has not authenticated.
  slot_->SetEvict([weak = weak_from_this(), exec = stream_.get_executor()] {
    net::post(exec, [weak] {
      if (auto self = weak.lock()) beast::get_lowest_layer(self->stream_).close();
    });
  });
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Handshake(); });
}

void ApiSession::Handshake() {
  beast::get_lowest_layer(stream_).expires_after(
      std::chrono::milliseconds(server_->options.handshake_timeout_ms));
  stream_.async_handshake(ssl::stream_base::server,
                          [self = shared_from_this()](error_code ec) { self->OnHandshake(ec); });
}

void ApiSession::OnHandshake(error_code ec) {
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
    tracked_ = server_->tls->Track(stream_.native_handle(), peer_address_,
                                   [weak = weak_from_this(), exec = stream_.get_executor()] {
                                     net::post(exec, [weak] {
                                       if (auto self = weak.lock())
                                         beast::get_lowest_layer(self->stream_).close();
                                     });
                                   });
  } else {
    slot_->HandshakeDone();
  }
  DoRead();
}

void ApiSession::DoRead() {
  parser_.emplace();
  parser_->header_limit(16 * 1024);
  parser_->body_limit(64 * 1024);
  // Until a first request arrives the connection has proved nothing: a short
  // deadline, so idle sockets cannot hold their slots for long.
  beast::get_lowest_layer(stream_).expires_after(std::chrono::milliseconds(
      read_any_ ? server_->options.idle_timeout_ms : server_->options.first_request_timeout_ms));
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](error_code ec, size_t) { self->OnRead(ec); });
}

void ApiSession::OnRead(error_code ec) {
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

void ApiSession::Handle() {
  const auto method = request_.method_string();
  RoutedRequest routed = RouteRequest(std::string_view(method.data(), method.size()), Target());
  if (!routed.ok())
    return SendError(static_cast<HttpStatus>(routed.refusal_status), routed.refusal);
  const ApiRoute& route = routed.route;
  path_ = route.path;
  if (!Authenticate()) return;
  slot_->Authenticated();  // valid credentials: never evicted, may use the reserve
  if (!principal_->Has(route.scope)) {
    return Deny(http::status::forbidden, std::string("the ") + ScopeNames(route.scope) +
                                             " scope is required; " + principal_->name + " has " +
                                             ScopeNames(principal_->scopes));
  }
  if (!route.takes_parameters && !route.params.empty()) {
    return SendError(http::status::bad_request, path_ + " takes no parameters");
  }
  switch (route.endpoint) {
    case ApiEndpoint::kEvents:
      return events().Start(route.params);
    case ApiEndpoint::kTail:
      return tail().Start(route.params);
    case ApiEndpoint::kIntegrity:
      return ServeIntegrity(*this, route.params);
    case ApiEndpoint::kVerify:
      return verify().Start(route.params);
    case ApiEndpoint::kReport:
      return ServeReport(*this, route.report_name, route.params);
    case ApiEndpoint::kHosts:
      return ServeHosts(*this);
    case ApiEndpoint::kMetrics:
      return ServeMetrics(*this);
    case ApiEndpoint::kBackup:
      return ServeBackup(*this);
  }
}

// Sets principal_, or answers 401/403 and returns false.
bool ApiSession::Authenticate() {
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
    // The CN as parsed at the handshake ("" when ambiguous), never a search
    // of the subject text, where "CN=" can sit inside any value.
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

std::string ApiSession::Who() const {
  if (principal_) return principal_->name + " (" + principal_->method + ")";
  if (peer_.authenticated()) return peer_.cert_subject() + " (mtls)";
  return "anonymous";
}

// A presented certificate adds its subject and fingerprint: the principal's
// name alone would not show which certificate claimed it.
void ApiSession::Audit(SelfEventKind kind, const std::string& message, Fields fields) {
  if (!peer_.cert_sha256().empty()) {
    fields.emplace_back("cert_subject", peer_.cert_subject());
    fields.emplace_back("cert_sha256", peer_.cert_sha256());
  }
  server_->audit->Record(kind, peer_address_, message, fields);
}

void ApiSession::RecordAccess(const std::string& what) {
  Audit(SelfEventKind::kApiAccess, what + " by " + Who() + " from " + peer_address_,
        {{"who", Who()}, {"path", path_}});
}

void ApiSession::Deny(HttpStatus status, const std::string& reason) {
  RecordDenied(static_cast<unsigned>(status), "API request refused", reason);
  SendError(status, reason);
}

std::string_view ApiSession::Target() const {
  return std::string_view(request_.target().data(), request_.target().size());
}

void ApiSession::RecordDenied(unsigned code, const std::string& what, const std::string& reason) {
  ++server_->counters.denied;
  Audit(SelfEventKind::kApiDenied,
        what + " (" + std::to_string(code) + ") for " + Who() + " from " + peer_address_ + ": " +
            reason,
        {{"who", Who()},
         {"status", std::to_string(code)},
         {"path", RedactTarget(Target())},
         {"reason", reason}});
}

// The body says what failed, not how: file names and store internals go to
// the operational log only.
void ApiSession::SendInternalError(const std::string& what, const Status& cause) {
  spdlog::error("API {} for {} ({}): {}", what, Who(), RedactTarget(Target()), cause.ToString());
  SendError(http::status::internal_server_error, what);
}

void ApiSession::DenyHost(const std::string& host) {
  Deny(http::status::forbidden,
       "host '" + host + "' is outside the hosts allowed for " + principal_->name);
}

void ApiSession::SendError(HttpStatus status, const std::string& message) {
  auto res = std::make_shared<Response>(status, request_.version() ? request_.version() : 11);
  res->set(http::field::content_type, "application/json");
  if (status == http::status::unauthorized) {
    res->set(http::field::www_authenticate, "Bearer realm=\"trailkeep\"");
  }
  res->body() = ApiErrorBody(static_cast<unsigned>(status), message);
  Send(std::move(res));
}

void ApiSession::SendBusy(const char* retry_after_seconds, const std::string& message) {
  auto res = std::make_shared<Response>(http::status::service_unavailable, request_.version());
  res->set(http::field::content_type, "application/json");
  res->set(http::field::retry_after, retry_after_seconds);
  res->body() = ApiErrorBody(503, message);
  Send(std::move(res));
}

void ApiSession::Send(std::shared_ptr<Response> res) {
  res->keep_alive(keep_alive_);
  res->prepare_payload();
  beast::get_lowest_layer(stream_).expires_after(
      std::chrono::milliseconds(server_->options.write_timeout_ms));
  http::async_write(stream_, *res, [self = shared_from_this(), res](error_code ec, size_t) {
    if (ec) return;
    self->AfterResponse();
  });
}

void ApiSession::AnswerFromReadPool(std::function<Result<std::string>()> read, Reply reply) {
  OnReadPool(std::move(read),
             [self = shared_from_this(), reply = std::move(reply)](Result<std::string> body) {
               if (!body.ok()) return self->SendInternalError("store read failed", body.status());
               if (!reply.access.empty()) self->RecordAccess(reply.access);
               auto res = std::make_shared<Response>(http::status::ok, self->request_.version());
               res->set(http::field::content_type, reply.content_type);
               if (reply.no_store) res->set(http::field::cache_control, "no-store");
               res->body() = std::move(body).value();
               self->Send(std::move(res));
             });
}

void ApiSession::AfterResponse() {
  if (!keep_alive_) return Close();
  DoRead();
}

void ApiSession::Close() {
  beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
  stream_.async_shutdown([self = shared_from_this()](error_code) {});
}

}  // namespace trailkeep
