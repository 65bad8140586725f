// One HTTPS API connection: TLS handshake, then requests one at a time
// (keep-alive). Each request is routed (api_router.h), authenticated (bearer
// token or client certificate), checked against the route's scope and handed
// to its endpoint (api_*.cc, one file each). Internal to server/sinks.
//
// The endpoints use the session's services below: answers (Send*, Deny*),
// the API_ACCESS / API_DENIED records, the one chunked writer and the
// read-pool helper. Everything runs on the session's strand; work on the
// pools comes back to it before touching the session.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "server/selfaudit/self_audit.h"
#include "server/sinks/api_chunked_writer.h"
#include "server/sinks/api_read_pool.h"
#include "server/sinks/api_router.h"
#include "server/sinks/api_server_state.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

class EventsResponse;
class TailStream;
class VerifyStream;

class ApiSession : public std::enable_shared_from_this<ApiSession> {
 public:
  using Stream = ChunkedWriter::Stream;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;
  using HttpStatus = boost::beast::http::status;
  using Fields = std::vector<std::pair<std::string, std::string>>;

  ApiSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<ExportHttpsServer::Impl> server,
             std::unique_ptr<ConnectionGate::Slot> slot, std::string peer_address);
  ~ApiSession();

  void Run();

  // --- for the endpoints (strand only) --------------------------------------
  ExportHttpsServer::Impl& server() const { return *server_; }
  const std::shared_ptr<ExportHttpsServer::Impl>& server_ptr() const { return server_; }
  const ApiPrincipal& principal() const { return *principal_; }
  const std::string& bearer() const { return bearer_; }
  const std::string& path() const { return path_; }
  const std::string& peer_address() const { return peer_address_; }
  unsigned version() const { return request_.version(); }
  bool keep_alive() const { return keep_alive_; }
  void set_keep_alive(bool on) { keep_alive_ = on; }
  Stream& stream() { return stream_; }
  Stream::executor_type executor() { return stream_.get_executor(); }
  ChunkedWriter& writer() { return writer_; }

  // "name (token)", a certificate subject, or "anonymous".
  std::string Who() const;
  // API_ACCESS / API_DENIED with the presented certificate's subject and
  // fingerprint added.
  void Audit(SelfEventKind kind, const std::string& message, Fields fields);
  void RecordAccess(const std::string& what);
  // The API_DENIED record; the target's secrets are redacted (RedactTarget).
  void RecordDenied(unsigned code, const std::string& what, const std::string& reason);

  void Send(std::shared_ptr<Response> res);
  void SendError(HttpStatus status, const std::string& message);
  // 503 with Retry-After: a limit on concurrent work was reached.
  void SendBusy(const char* retry_after_seconds, const std::string& message);
  // A 500 whose cause goes to the operational log only.
  void SendInternalError(const std::string& what, const Status& cause);
  void Deny(HttpStatus status, const std::string& reason);
  void DenyHost(const std::string& host);
  // The response is out: the next request, or the end of the connection.
  void AfterResponse();
  void Close();

  // Runs `job` on the read pool, then `answer(result)` on this strand.
  template <typename Job, typename Answer>
  void OnReadPool(Job job, Answer answer) {
    RunOnPoolAnswerOnStrand(server_->pool, executor(), std::move(job), std::move(answer));
  }

  // A one-shot read (hosts, integrity, report, metrics): `read` runs on the
  // read pool and gives the body; a failure is a 500, else `access` (if not
  // empty) is recorded and the body sent with `content_type`.
  struct Reply {
    std::string content_type;
    bool no_store = false;  // Cache-Control: no-store
    std::string access;     // what RecordAccess says; "" records nothing
  };
  void AnswerFromReadPool(std::function<Result<std::string>()> read, Reply reply);

 private:
  void Handshake();
  void OnHandshake(boost::system::error_code ec);
  void DoRead();
  void OnRead(boost::system::error_code ec);
  void Handle();
  bool Authenticate();
  std::string_view Target() const;

  EventsResponse& events();
  TailStream& tail();
  VerifyStream& verify();

  std::shared_ptr<boost::asio::ssl::context> ctx_;  // the one stream_ was made with
  Stream stream_;
  std::shared_ptr<ExportHttpsServer::Impl> server_;
  std::shared_ptr<void> tracked_;  // by server_->tls while the certificate is trusted
  std::unique_ptr<ConnectionGate::Slot> slot_;
  std::string peer_address_;
  ChunkedWriter writer_;
  bool read_any_ = false;  // a request has been read on this connection
  v1::Peer peer_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> parser_;
  boost::beast::http::request<boost::beast::http::empty_body> request_;
  bool keep_alive_ = true;
  std::string path_;
  std::optional<ApiPrincipal> principal_;
  std::string bearer_;  // the token presented, if any (tails re-check it on reload)

  // Each streaming endpoint's state, made on first use, kept for the
  // connection's life (late completions of a finished response find it).
  std::unique_ptr<EventsResponse> events_;
  std::unique_ptr<TailStream> tail_;
  std::unique_ptr<VerifyStream> verify_;
};

// The JSON error body: {"error": MESSAGE, "status": N} and a newline.
std::string ApiErrorBody(unsigned status, const std::string& message);

}  // namespace trailkeep
