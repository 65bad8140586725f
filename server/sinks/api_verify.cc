#include "server/sinks/api_verify.h"

#include <functional>
#include <utility>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "server/sinks/api_session.h"
#include "server/sinks/chain_verify_job.h"
#include "server/store/store.h"

namespace trailkeep {

namespace net = boost::asio;
using boost::system::error_code;
using http_status = boost::beast::http::status;

namespace {

constexpr uint64_t kVerifyProgressEvery = 50'000;

}  // namespace

VerifyStream::~VerifyStream() {
  if (holds_) --s_.server().counters.verifies;
}

void VerifyStream::Start(const QueryParams& params) {
  auto& server = s_.server();
  auto host = ParseVerifyRequest(params);
  if (!host.ok()) return s_.SendError(http_status::bad_request, host.status().message());
  if (!s_.principal().MaySee(host.value())) return s_.DenyHost(host.value());
  if (!server.chain_keys) {
    return s_.SendError(http_status::service_unavailable, "chain verification is not available");
  }
  if (server.counters.verifies.fetch_add(1) >= server.options.max_verifies) {
    --server.counters.verifies;
    return s_.SendBusy("5", "too many verifications running; retry");
  }
  holds_ = true;
  ++server.counters.verify_runs;
  host_ = host.value();
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  net::post(server.verify_pool, [self = s_.shared_from_this(), this, host = host_,
                                 cancel = cancel_] { Run(self, this, host, cancel.get()); });
}

// On the verify pool. `stream` belongs to `session`, which the posts keep alive.
void VerifyStream::Run(std::shared_ptr<ApiSession> session, VerifyStream* stream,
                       const std::string& host, const std::atomic<bool>* cancel) {
  auto to_strand = [session, stream](std::function<void(VerifyStream&)> fn) {
    net::post(session->executor(), [session, stream, fn = std::move(fn)] { fn(*stream); });
  };
  const ExportHttpsServer::Impl& server = session->server();
  std::string why;
  auto key = server.chain_keys(host, &why);
  StoredChainAudit audit;
  for (size_t i = 0; key && i < key->keys.size(); ++i) {
    (i == 0 ? audit.key : audit.retired_keys.emplace_back()) = key->keys[i].key;
  }
  audit.enterprise_number = server.options.enterprise_number;
  audit.progress_every = kVerifyProgressEvery;
  audit.progress = [&](uint64_t n) {
    to_strand([line = VerifyProgressJson(host, n)](VerifyStream& s) { s.Append(line, false); });
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
                                : !known ? "no host '" + host + "' in the store (see GET /v1/hosts)"
                                         : "cannot verify host '" + host +
                                               "': no HMAC key the collector can read (its log "
                                               "says why)";
    const auto status = !listed.ok() ? http_status::internal_server_error
                        : !known     ? http_status::not_found
                                     : http_status::conflict;
    return to_strand([status, message](VerifyStream& s) {
      s.Release();
      s.s_.SendError(status, message);
    });
  }
  to_strand([](VerifyStream& s) { s.StartStream(); });
  auto result = AuditStoredChain(*server.store, host, audit);
  std::string tail;
  if (result.ok()) {
    for (const auto& issue : result.value().issues) tail += VerifyIssueJson(issue);
    tail += VerifyResultJson(host, result.value());
  } else {
    spdlog::error("API verify of {} failed: {}", host, result.status().ToString());
    tail = ApiErrorBody(500, "verification failed");
  }
  to_strand([tail = std::move(tail)](VerifyStream& s) { s.Append(tail, true); });
}

void VerifyStream::StartStream() {
  s_.RecordAccess("chain verification of " + host_);
  s_.writer().Start(s_.version(), "application/x-ndjson", s_.keep_alive(),
                    {{"X-Accel-Buffering", "no"}},
                    [self = s_.shared_from_this(), this](error_code ec) {
                      if (ec) return Failed();
                      started_ = true;
                      Flush();
                    });
}

void VerifyStream::Append(const std::string& lines, bool last) {
  out_ += lines;
  last_ = last_ || last;
  Flush();
}

// Writes what is queued, one chunk at a time; ends the body after the last.
void VerifyStream::Flush() {
  if (!started_ || writing_ || !holds_) return;
  if (out_.empty()) {
    if (!last_) return;
    writing_ = true;
    s_.writer().Finish([self = s_.shared_from_this(), this](error_code ec) {
      writing_ = false;
      Release();
      if (ec) return;
      s_.AfterResponse();
    });
    return;
  }
  std::string chunk;
  chunk.swap(out_);
  writing_ = true;
  s_.writer().Write(std::move(chunk), [self = s_.shared_from_this(), this](error_code ec) {
    writing_ = false;
    if (ec) return Failed();
    Flush();
  });
}

void VerifyStream::Failed() {
  if (cancel_) cancel_->store(true);
  Release();
}

void VerifyStream::Release() {
  if (holds_) {
    holds_ = false;
    --s_.server().counters.verifies;
  }
  started_ = false;
  last_ = false;
  out_.clear();
  s_.writer().Reset();
}

}  // namespace trailkeep
