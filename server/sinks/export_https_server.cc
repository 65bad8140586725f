#include "server/sinks/export_https_server.h"

#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/base/endpoint.h"
#include "server/net/acceptor.h"
#include "server/net/tls_context.h"
#include "server/selfaudit/self_audit.h"
#include "server/sinks/api_endpoints.h"
#include "server/sinks/api_server_state.h"
#include "server/sinks/api_session.h"

namespace trailkeep {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

// The API's view of [tls]: client certificates optional, verified against
// ca_file when presented; permitted_peers do not apply ([[export.client]] does).
TlsOptions ApiTlsOptions(TlsOptions tls) {
  tls.client_auth = tls.ca_file.empty() ? ClientAuth::kNone : ClientAuth::kOptional;
  tls.permitted_peers.clear();
  tls.permitted_fingerprints.clear();
  return tls;
}

}  // namespace

ExportHttpsServer::Impl::Impl(net::io_context& io_in, const ExportServerOptions& o, const Store* s,
                              SelfAudit* a, CounterRegistry* m, LiveTailHub* h, ChainKeyLookup k)
    : io(io_in),
      options(o),
      store(s),
      audit(a),
      metrics(m),
      hub(h),
      chain_keys(std::move(k)),
      pool(static_cast<size_t>(std::max(1, o.read_threads))),
      verify_pool(1),
      gate(ConnectionLimits{o.max_connections, o.reserved_connections, o.max_connections_per_peer,
                            o.max_handshakes_per_peer}) {
  tls = ServerTls::Create("export", MakeServerTlsContext(ApiTlsOptions(o.tls)));
  auto loaded = LoadAuthenticator();
  if (!loaded.ok()) throw std::runtime_error(loaded.status().message());
  auth = std::move(loaded).value();
}

Result<std::shared_ptr<const ApiAuthenticator>> ExportHttpsServer::Impl::LoadAuthenticator() const {
  std::vector<TokenEntry> tokens = options.tokens;
  if (!options.token_file.empty()) {
    auto loaded = LoadTokenFile(options.token_file);
    if (!loaded.ok()) return loaded.status();
    for (auto& t : loaded.value()) tokens.push_back(std::move(t));
  }
  return std::shared_ptr<const ApiAuthenticator>(
      std::make_shared<ApiAuthenticator>(std::move(tokens), options.clients));
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
  std::make_shared<ApiSession>(std::move(sock), shared_from_this(), std::move(admission.slot),
                               address)
      ->Run();
}

ExportHttpsServer::ExportHttpsServer(net::io_context& io, const ExportServerOptions& options,
                                     const Store* store, SelfAudit* audit, CounterRegistry* metrics,
                                     LiveTailHub* tail_hub, ChainKeyLookup chain_keys)
    : impl_(std::make_shared<Impl>(io, options, store, audit, metrics, tail_hub,
                                   std::move(chain_keys))) {
  metrics_ = RegisterApiMetrics(*impl_);
  impl_->acceptors = BindAcceptors(impl_->io, options.addresses, "[[listen.export]]");
  // The accept loop of every listener (acceptor.h); it keeps impl_ alive.
  AcceptEach(impl_->io, impl_->acceptors, [self = impl_](tcp::socket sock, const std::string&) {
    self->Admit(std::move(sock));
  });
}

ExportHttpsServer::~ExportHttpsServer() {
  // Page reads in flight finish (they are bounded); nothing new starts.
  impl_->pool.join();
  impl_->verify_pool.join();
}

Result<std::vector<WithdrawnPeer>> ExportHttpsServer::ReloadTls() {
  auto built = BuildServerTlsContext(ApiTlsOptions(impl_->options.tls));
  if (!built.ok()) return built.status();
  return impl_->tls->Replace(std::move(built).value());
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
  CloseAcceptors(&impl_->acceptors);  // each on its strand (acceptor.h)
}

}  // namespace trailkeep
