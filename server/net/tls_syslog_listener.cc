#include "server/net/tls_syslog_listener.h"

#include <cstdint>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "common/base/endpoint.h"
#include "server/net/acceptor.h"
#include "server/net/adopted_connection.h"
#include "server/net/connection_gate.h"
#include "server/net/ingest.h"
#include "server/net/server_tls.h"
#include "server/net/tcp_byte_stream.h"
#include "server/net/tls_context.h"
#include "server/net/tls_syslog_session.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {
constexpr int kSendBufferBytes = 16 * 1024;  // the kernel doubles it
}  // namespace

struct TlsSyslogListener::Impl {
  Impl(net::io_context& io_in, const TlsSyslogOptions& o, IngestPorts p)
      : io(io_in),
        options(std::make_shared<const TlsSyslogOptions>(o)),
        ports(p),
        tls(ServerTls::Create("syslog", MakeServerTlsContext(o.tls))),
        counters(std::make_shared<TlsSyslogCounters>()),
        // Only the per-peer handshake limit: the totals are checked in Admit,
        // and a syslog sender without a certificate is no less legitimate.
        gate(ConnectionLimits{SIZE_MAX, 0, 0, o.max_handshakes_per_peer}) {
    EnableAgentAlpn(tls->context().get());
  }

  void Admit(tcp::socket sock, const std::string& listener) {
    error_code ec;
    const auto ep = sock.remote_endpoint(ec);
    if (ec) return;  // already gone
    const bool too_many = counters->connections.load() >= options->max_connections;
    const bool too_busy = counters->handshaking.load() >= options->max_handshakes;
    ConnectionGate::Admission admission;
    if (!too_many && !too_busy) admission = gate.Admit(ep.address().to_string());
    if (!admission.slot) {
      ++counters->refused;
      v1::Peer peer;
      peer.set_address(FormatEndpoint(ep.address().to_string(), ep.address().is_v6(), ep.port()));
      ports.reports->ReportConnectionEvent(
          ConnectionEventKind::kConnectionLimit, peer,
          too_many ? "connection limit of " + std::to_string(options->max_connections) + " reached"
          : too_busy ? "handshake limit of " + std::to_string(options->max_handshakes) + " reached"
                     : admission.refused);
      sock.close(ec);
      return;
    }
    sock.set_option(tcp::no_delay(true), ec);
    // We send only small frames (agents' Resume, Acks, Goodbye): a small send
    // buffer makes a peer that does not read stall our writes after kilobytes,
    // not after the megabytes of kernel memory autotuning would grant it.
    sock.set_option(net::socket_base::send_buffer_size(kSendBufferBytes), ec);
    ChannelIdentity identity = TcpIdentity(sock, listener);
    StartTlsSyslogSession(std::make_unique<TcpByteStream>(std::move(sock)), tls, options, ports,
                          counters, std::move(identity), kTlsSyslogProtocols,
                          std::move(admission.slot));
  }

  net::io_context& io;
  std::shared_ptr<const TlsSyslogOptions> options;
  const IngestPorts ports;
  std::shared_ptr<ServerTls> tls;
  std::shared_ptr<TlsSyslogCounters> counters;
  ConnectionGate gate;
  Acceptors acceptors;
};

TlsSyslogListener::TlsSyslogListener(net::io_context& io, const TlsSyslogOptions& options,
                                     IngestPorts ports, CounterRegistry& metrics)
    : impl_(std::make_shared<Impl>(io, options, ports)) {
  const TlsSyslogCounters& c = *impl_->counters;
  metrics_ = metrics.Register({
      GaugeOf("syslog_connections", "open RFC 5425 connections", c.connections),
      GaugeOf("syslog_handshaking", "RFC 5425 connections still handshaking", c.handshaking),
      CounterOf("syslog_accepted_total", "RFC 5425 connections accepted", c.accepted),
      CounterOf("syslog_refused_total", "RFC 5425 connections refused (TLS, certificate, limits)",
                c.refused),
      CounterOf("syslog_frames_total", "syslog frames received", c.frames),
      CounterOf("syslog_bytes_total", "syslog bytes received", c.bytes),
      CounterOf("syslog_framing_errors_total", "framing errors (connection closed)",
                c.framing_errors),
      GaugeOf("syslog_outbox_bytes", "frames queued to agents that do not read", c.outbox_bytes),
      CounterOf("syslog_outbox_overflows_total",
                "agent connections closed because their queue of frames to write was full",
                c.outbox_overflows),
  });
  impl_->acceptors = BindAcceptors(impl_->io, options.addresses, "[[listen.syslog]]");
  AcceptEach(io, impl_->acceptors, [impl = impl_](tcp::socket sock, const std::string& listener) {
    impl->Admit(std::move(sock), listener);
  });
}

TlsSyslogListener::~TlsSyslogListener() = default;

std::vector<std::string> TlsSyslogListener::BoundAddresses() const {
  return LocalAddresses(impl_->acceptors);
}

void TlsSyslogListener::Adopt(AdoptedConnection&& connection) {
  StartTlsSyslogSession(std::move(connection.stream), impl_->tls, impl_->options, impl_->ports,
                        impl_->counters, std::move(connection.identity), connection.admitted);
}

Result<std::vector<WithdrawnPeer>> TlsSyslogListener::ReloadTls() {
  auto built = BuildServerTlsContext(impl_->options->tls);
  if (!built.ok()) return built.status();
  EnableAgentAlpn(built.value().get());
  return impl_->tls->Replace(std::move(built).value());
}

void TlsSyslogListener::Stop() {
  // Runs on a foreign thread: close the acceptors on their own executor.
  net::post(impl_->io, [impl = impl_] { CloseAcceptors(&impl->acceptors); });
}

const TlsSyslogCounters& TlsSyslogListener::counters() const { return *impl_->counters; }

}  // namespace trailkeep
