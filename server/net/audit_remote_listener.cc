#include "server/net/audit_remote_listener.h"

#include <mutex>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include "server/net/acceptor.h"
#include "server/net/audit_remote_session.h"
#include "server/net/ingest.h"
#include "server/net/tcp_byte_stream.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

struct AuditRemoteListener::Impl {
  Impl(net::io_context& io_in, const AuditRemoteOptions& o, IngestPorts p, TlsSyslogListener* a)
      : io(io_in),
        options(std::make_shared<const AuditRemoteOptions>(o)),
        ports(p),
        agents(a),
        counters(std::make_shared<AuditRemoteCounters>()) {}

  void Admit(tcp::socket sock, const std::string& listener) {
    error_code ec;
    // As auditd: replies must not wait for Nagle, dead peers must surface.
    sock.set_option(tcp::no_delay(true), ec);
    sock.set_option(net::socket_base::keep_alive(true), ec);
    const ChannelIdentity identity = TcpIdentity(sock, listener);
    Serve(std::make_unique<TcpByteStream>(std::move(sock)), identity);
  }

  void Serve(std::unique_ptr<ByteStream> stream, const ChannelIdentity& identity) {
    if (counters->connections.load() >= options->max_connections) {
      v1::Peer peer;
      peer.set_address(identity.address);
      ports.reports->ReportConnectionEvent(
          ConnectionEventKind::kConnectionLimit, peer,
          "port 60: connection limit of " + std::to_string(options->max_connections) + " reached");
      stream->Close();
      return;
    }
    auto handle = StartAuditRemoteSession(std::move(stream), identity, ProtocolsFor(identity),
                                          options, ports.ingest, ports.reports, agents, counters);
    std::lock_guard lock(mu);
    std::erase_if(sessions, [](const auto& w) { return w.expired(); });
    sessions.push_back(handle);
  }

  // Port 60 admits auditd's protocol, and an agent's hello when a TLS
  // listener takes agents; after the hello, TLS carries what the TLS syslog
  // port admits, but only trailkeep/1 through a tunnel: plain syslog could
  // name any HOSTNAME (docs/tunnels.md).
  Port60Protocols ProtocolsFor(const ChannelIdentity& identity) const {
    return {agents != nullptr ? Protocols{Protocol::kAuditRemote, Protocol::kAgentHello}
                              : Protocols{Protocol::kAuditRemote},
            identity.tunnel.empty() ? kTlsSyslogProtocols : Protocols{Protocol::kTrailkeep1}};
  }

  net::io_context& io;
  std::shared_ptr<const AuditRemoteOptions> options;
  const IngestPorts ports;
  TlsSyslogListener* agents;
  std::shared_ptr<AuditRemoteCounters> counters;
  Acceptors acceptors;
  std::mutex mu;
  std::vector<std::weak_ptr<AuditRemoteSessionHandle>> sessions;  // GUARDED_BY(mu)
};

AuditRemoteListener::AuditRemoteListener(net::io_context& io, const AuditRemoteOptions& options,
                                         IngestPorts ports, TlsSyslogListener* agents,
                                         CounterRegistry& metrics)
    : impl_(std::make_shared<Impl>(io, options, ports, agents)) {
  const AuditRemoteCounters& c = *impl_->counters;
  metrics_ = metrics.Register({
      GaugeOf("audit_remote_connections", "open port-60 (auditd remote logging) connections",
              c.connections),
      CounterOf("audit_remote_accepted_total", "port-60 connections accepted", c.accepted),
      CounterOf("audit_remote_records_total", "auditd records received in port-60 frames",
                c.records),
      CounterOf("audit_remote_heartbeats_total", "port-60 heartbeats received (acknowledged)",
                c.heartbeats),
      CounterOf("audit_remote_ascii_lines_total",
                "auditd records received as ASCII lines (format = ascii; never acknowledged)",
                c.ascii_lines),
      CounterOf("audit_remote_disk_full_replies_total",
                "port-60 records answered DISKFULL because they were not stored in time",
                c.disk_full_replies),
      CounterOf("audit_remote_framing_errors_total",
                "port-60 frames the protocol cannot carry (error reply, connection closed)",
                c.framing_errors),
  });
  impl_->acceptors = BindAcceptors(impl_->io, options.addresses, "[[listen.audit]]");
  AcceptEach(io, impl_->acceptors, [impl = impl_](tcp::socket sock, const std::string& listener) {
    impl->Admit(std::move(sock), listener);
  });
}

const AuditRemoteCounters& AuditRemoteListener::counters() const { return *impl_->counters; }

AuditRemoteListener::~AuditRemoteListener() = default;

std::vector<std::string> AuditRemoteListener::BoundAddresses() const {
  return LocalAddresses(impl_->acceptors);
}

void AuditRemoteListener::Serve(std::unique_ptr<ByteStream> stream,
                                const ChannelIdentity& identity) {
  impl_->Serve(std::move(stream), identity);
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

}  // namespace trailkeep
