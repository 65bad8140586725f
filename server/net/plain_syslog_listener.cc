#include "server/net/plain_syslog_listener.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include "server/net/acceptor.h"
#include "server/net/tcp_byte_stream.h"
#include "server/net/tcp_syslog_session.h"
#include "server/net/udp_syslog_receiver.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

std::shared_ptr<const v1::Peer> PlainPeer(std::string address, std::string listener,
                                          int transport) {
  auto peer = std::make_shared<v1::Peer>();
  peer->set_address(std::move(address));
  peer->set_listener(std::move(listener));
  peer->set_transport(static_cast<v1::Transport>(transport));
  return peer;
}

struct PlainSyslogListener::Impl {
  Impl(net::io_context& io_in, const PlainSyslogOptions& o, const IngestPorts& ports)
      : io(io_in), ctx(std::make_shared<PlainSyslogContext>(o, ports)) {}

  void Admit(tcp::socket sock, const std::string& listener) {
    const ChannelIdentity identity = TcpIdentity(sock, listener);
    if (identity.address.empty()) return;  // already gone
    PlainSyslogCounters& c = ctx->counters;
    if (c.tcp_connections.load() >= ctx->options.max_connections) {
      ++c.tcp_refused;
      ctx->reports->ReportConnectionEvent(
          ConnectionEventKind::kConnectionLimit, *PlainPeer(identity.address, listener, 0),
          "plaintext TCP syslog: connection limit of " +
              std::to_string(ctx->options.max_connections) + " reached");
      error_code ec;
      sock.close(ec);
      return;
    }
    ++c.tcp_accepted;
    error_code ec;
    sock.set_option(net::socket_base::keep_alive(true), ec);
    if (ctx->options.receive_buffer_bytes > 0) {
      sock.set_option(net::socket_base::receive_buffer_size(ctx->options.receive_buffer_bytes), ec);
    }
    std::make_shared<TcpSyslogSession>(std::make_unique<TcpByteStream>(std::move(sock)), identity,
                                       ctx)
        ->Start();
  }

  net::io_context& io;
  std::shared_ptr<PlainSyslogContext> ctx;
  std::vector<std::shared_ptr<UdpSyslogReceiver>> udp;
  Acceptors acceptors;
};

PlainSyslogListener::PlainSyslogListener(net::io_context& io, const PlainSyslogOptions& options,
                                         const IngestPorts& ports, CounterRegistry& metrics)
    : impl_(std::make_shared<Impl>(io, options, ports)) {
  const PlainSyslogCounters& c = impl_->ctx->counters;
  const auto labelled = [](std::string name, std::string help, std::string labels,
                           const std::atomic<uint64_t>& v) {
    CounterRegistry::Counter counter = CounterOf(std::move(name), std::move(help), v);
    counter.labels = std::move(labels);
    return counter;
  };
  metrics_ = metrics.Register({
      CounterOf("udp_syslog_datagrams_total", "plaintext UDP syslog datagrams received",
                c.udp_datagrams),
      labelled("udp_syslog_dropped_total",
               "plaintext UDP syslog datagrams dropped (rate_limit: the sender's "
               "rate_per_source; oversize: above max_frame_bytes; disk_full: the store's disk "
               "below admin_space_left under disk_full_action block)",
               "reason=\"rate_limit\"", c.udp_rate_limited),
      labelled("udp_syslog_dropped_total", "", "reason=\"oversize\"", c.udp_oversize),
      labelled("udp_syslog_dropped_total", "", "reason=\"disk_full\"", c.udp_disk_full),
      GaugeOf("tcp_syslog_connections", "open plaintext TCP syslog connections", c.tcp_connections),
      CounterOf("tcp_syslog_accepted_total", "plaintext TCP syslog connections accepted",
                c.tcp_accepted),
      CounterOf("tcp_syslog_refused_total",
                "plaintext TCP syslog connections refused (max_connections)", c.tcp_refused),
      CounterOf("tcp_syslog_frames_total", "plaintext TCP syslog frames received", c.tcp_frames),
      CounterOf("tcp_syslog_rate_limited_total",
                "times a plaintext TCP connection stopped reading for its sender's rate limit",
                c.tcp_rate_limited),
      CounterOf("tcp_syslog_framing_errors_total", "plaintext TCP framing errors (closed)",
                c.tcp_framing_errors),
      CounterOf("plain_syslog_bytes_total", "plaintext syslog bytes received (UDP and TCP)",
                c.bytes),
  });
  for (const auto& address : options.udp_addresses) {
    impl_->udp.push_back(std::make_shared<UdpSyslogReceiver>(
        BindUdp(io, address, options.receive_buffer_bytes), impl_->ctx));
  }
  if (!options.tcp_addresses.empty()) {
    impl_->acceptors = BindAcceptors(io, options.tcp_addresses, "[[listen.tcp]]");
    AcceptEach(io, impl_->acceptors, [impl = impl_](tcp::socket sock, const std::string& listener) {
      impl->Admit(std::move(sock), listener);
    });
  }
  for (auto& r : impl_->udp) r->Start();
}

PlainSyslogListener::~PlainSyslogListener() = default;

std::vector<std::string> PlainSyslogListener::BoundUdp() const {
  std::vector<std::string> out;
  for (const auto& r : impl_->udp) out.push_back(r->local_address());
  return out;
}

std::vector<std::string> PlainSyslogListener::BoundTcp() const {
  return LocalAddresses(impl_->acceptors);
}

void PlainSyslogListener::Stop() {
  for (auto& r : impl_->udp) r->Stop();
  net::post(impl_->io, [impl = impl_] { CloseAcceptors(&impl->acceptors); });
}

const PlainSyslogCounters& PlainSyslogListener::counters() const { return impl_->ctx->counters; }

}  // namespace trailkeep
