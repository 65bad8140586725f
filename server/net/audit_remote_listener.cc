#include "server/net/audit_remote_listener.h"

#include <mutex>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "common/base/endpoint.h"
#include "server/net/acceptor.h"
#include "server/net/audit_channel_registry.h"
#include "server/net/audit_remote_session.h"
#include "server/net/ingest.h"
#include "server/net/tcp_byte_stream.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

struct AuditRemoteListener::Impl : std::enable_shared_from_this<Impl> {
  Impl(net::io_context& io_in, const AuditRemoteOptions& o, IngestSink* s,
       const AuditChannelRegistry* r, TlsSyslogListener* a)
      : io(io_in),
        options(std::make_shared<const AuditRemoteOptions>(o)),
        sink(s),
        registry(r),
        agents(a),
        counters(std::make_shared<AuditRemoteCounters>()) {}

  void Accept(tcp::acceptor* acc) {
    acc->async_accept(net::make_strand(io),
                      [self = shared_from_this(), acc](error_code ec, tcp::socket sock) {
                        if (ec == net::error::operation_aborted || !acc->is_open()) return;
                        if (!ec) self->Admit(std::move(sock), acc);
                        self->Accept(acc);
                      });
  }

  void Admit(tcp::socket sock, tcp::acceptor* acc) {
    error_code ec;
    if (counters->connections.load() >= options->max_connections) {
      v1::Peer peer;
      auto ep = sock.remote_endpoint(ec);
      if (!ec) {
        peer.set_address(FormatEndpoint(ep.address().to_string(), ep.address().is_v6(), ep.port()));
      }
      sink->ReportConnectionEvent(
          ConnectionEventKind::kConnectionLimit, peer,
          "port 60: connection limit of " + std::to_string(options->max_connections) + " reached");
      sock.close(ec);
      return;
    }
    // As auditd: replies must not wait for Nagle, dead peers must surface.
    sock.set_option(tcp::no_delay(true), ec);
    sock.set_option(net::socket_base::keep_alive(true), ec);
    const ChannelIdentity identity = Identify(sock, LocalAddress(*acc));
    auto handle = StartAuditRemoteSession(std::make_unique<TcpByteStream>(std::move(sock)),
                                          identity, options, sink, agents, counters);
    std::lock_guard lock(mu);
    std::erase_if(sessions, [](const auto& w) { return w.expired(); });
    sessions.push_back(handle);
  }

  // A loopback peer whose port a tunnel's bridge registered is that tunnel's
  // node. Only the bridge's own address: another local process could bind
  // the same port on 127.0.0.2 and pose as the channel.
  ChannelIdentity Identify(const tcp::socket& sock, std::string listener) const {
    ChannelIdentity id = TcpIdentity(sock, std::move(listener));
    error_code ec;
    const auto ep = sock.remote_endpoint(ec);
    if (ec || registry == nullptr) return id;
    const auto& a = ep.address();
    const bool bridge_address = a.is_v6() ? a.to_v6() == net::ip::address_v6::loopback()
                                          : a.to_v4() == net::ip::address_v4::loopback();
    if (!bridge_address) return id;
    if (auto channel = registry->Find(ep.port())) id.tunnel = channel->node;
    return id;
  }

  net::io_context& io;
  std::shared_ptr<const AuditRemoteOptions> options;
  IngestSink* sink;
  const AuditChannelRegistry* registry;
  TlsSyslogListener* agents;
  std::shared_ptr<AuditRemoteCounters> counters;
  Acceptors acceptors;
  std::mutex mu;
  std::vector<std::weak_ptr<AuditRemoteSessionHandle>> sessions;  // GUARDED_BY(mu)
};

AuditRemoteListener::AuditRemoteListener(net::io_context& io, const AuditRemoteOptions& options,
                                         IngestSink* sink, const AuditChannelRegistry* registry,
                                         TlsSyslogListener* agents)
    : impl_(std::make_shared<Impl>(io, options, sink, registry, agents)) {
  impl_->acceptors = BindAcceptors(impl_->io, options.addresses, "[[listen.audit]]");
  for (auto& acc : impl_->acceptors) impl_->Accept(acc.get());
}

AuditRemoteListener::~AuditRemoteListener() = default;

std::vector<std::string> AuditRemoteListener::BoundAddresses() const {
  return LocalAddresses(impl_->acceptors);
}

void AuditRemoteListener::Stop() {
  net::post(impl_->io, [impl = impl_] {
    CloseAcceptors(&impl->acceptors);
    std::lock_guard lock(impl->mu);
    for (auto& w : impl->sessions) {
      if (auto s = w.lock()) s->End();
    }
    impl->sessions.clear();
  });
}

const AuditRemoteCounters& AuditRemoteListener::counters() const { return *impl_->counters; }

}  // namespace trailkeep
