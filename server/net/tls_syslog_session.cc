#include "server/net/tls_syslog_session.h"

#include <chrono>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/net/agent_session.h"
#include "server/net/framed_tls_session.h"
#include "server/net/ingest.h"
#include "server/net/tls_byte_stream.h"
#include "server/net/tls_context.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;

// The handshake under its deadline, the peer checks, then the protocol
// session the ALPN choice names.
class Handshake : public std::enable_shared_from_this<Handshake> {
 public:
  Handshake(std::unique_ptr<ByteStream> stream, std::shared_ptr<ServerTls> tls,
            std::shared_ptr<const TlsSyslogOptions> options, IngestPorts ports,
            std::shared_ptr<TlsSyslogCounters> counters, const ChannelIdentity& identity,
            Protocols admitted, std::unique_ptr<ConnectionGate::Slot> slot)
      : admitted_(admitted),
        slot_(std::move(slot)),
        stream_(std::make_unique<TlsByteStream>(std::move(stream), tls->context())),
        tls_(std::move(tls)),
        timer_(stream_->executor()),
        options_(std::move(options)),
        ports_(ports),
        counters_(std::move(counters)),
        // The connection counts until its session, whichever it is, ends.
        held_(nullptr, [c = counters_](void*) { --c->connections; }) {
    auto peer = std::make_shared<v1::Peer>();
    peer->set_address(identity.address);
    peer->set_listener(identity.listener);
    peer->set_tunnel(identity.tunnel);
    peer_ = std::move(peer);
    ++counters_->connections;
    ++counters_->handshaking;
  }

  ~Handshake() {
    if (handshaking_) --counters_->handshaking;
  }

  net::any_io_executor executor() { return stream_->executor(); }

  void Start() {
    timer_.expires_after(std::chrono::milliseconds(options_->handshake_timeout_ms));
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec == net::error::operation_aborted || !self->handshaking_) return;
      self->timed_out_ = true;
      self->stream_->Close();
    });
    stream_->AsyncHandshake(
        [self = shared_from_this()](const error_code& ec) { self->OnHandshake(ec); });
  }

 private:
  void OnHandshake(error_code ec) {
    handshaking_ = false;
    --counters_->handshaking;
    timer_.cancel();
    if (slot_) slot_->HandshakeDone();
    if (ec) {
      std::string reason = timed_out_ ? "TLS handshake timed out"
                           : !stream_->verify_error().empty()
                               ? "certificate refused: " + stream_->verify_error()
                               : ec.message();
      ++counters_->refused;
      ports_.reports->ReportConnectionEvent(ConnectionEventKind::kTlsHandshakeFailed, *peer_,
                                            reason);
      stream_->Close();
      return;
    }
    auto peer = std::make_shared<v1::Peer>(*peer_);
    FillPeerFromTls(stream_->native_handle(), peer.get());
    const Protocol chosen =
        AgentAlpnSelected(stream_->native_handle()) ? Protocol::kTrailkeep1 : Protocol::kRfc5425;
    auto session =
        std::make_shared<FramedTlsSession>(std::move(stream_), std::move(peer), options_,
                                           ports_.ingest, ports_.reports, counters_, held_);
    std::string why;
    if (!PeerPermitted(options_->tls, *session->peer(), &why)) {
      ++counters_->refused;
      ports_.reports->ReportConnectionEvent(ConnectionEventKind::kPeerNotPermitted,
                                            *session->peer(), why);
      return session->Shutdown();
    }
    ++counters_->accepted;
    session->Keep(
        tls_->Track(session->native_handle(), session->peer()->address(),
                    [weak = std::weak_ptr<FramedTlsSession>(session), exec = session->executor()] {
                      net::post(exec, [weak] {
                        if (auto s = weak.lock()) s->Close();
                      });
                    }));
    if (!admitted_.Admits(chosen)) {
      // Recorded like any refused agent.
      ++counters_->refused;
      ports_.reports->ReportConnectionEvent(ConnectionEventKind::kAgentRefused, *session->peer(),
                                            NotAdmitted(chosen, *session->peer()));
      return session->Shutdown();
    }
    if (chosen == Protocol::kTrailkeep1) {
      return StartAgentSession(std::move(session), ports_.agents, counters_);
    }
    session->StartReading();  // RFC 5425: frames in, nothing out
  }

  static std::string NotAdmitted(Protocol chosen, const v1::Peer& peer) {
    if (chosen == Protocol::kTrailkeep1) return "trailkeep/1 is not admitted on this channel";
    if (peer.tunnel().empty()) return "RFC 5425 is not admitted on this channel";
    // Through a tunnel only the node's own agent may speak (docs/tunnels.md).
    return "a connection through the tunnel to " + peer.tunnel() +
           " did not negotiate trailkeep/1: only the node's agent may send through it";
  }

  const Protocols admitted_;
  std::unique_ptr<ConnectionGate::Slot> slot_;  // null for adopted connections
  std::unique_ptr<TlsByteStream> stream_;
  std::shared_ptr<ServerTls> tls_;
  net::steady_timer timer_;
  std::shared_ptr<const TlsSyslogOptions> options_;
  const IngestPorts ports_;
  std::shared_ptr<TlsSyslogCounters> counters_;
  std::shared_ptr<void> held_;
  std::shared_ptr<const v1::Peer> peer_;
  bool handshaking_ = true;
  bool timed_out_ = false;
};

}  // namespace

void StartTlsSyslogSession(std::unique_ptr<ByteStream> stream, std::shared_ptr<ServerTls> tls,
                           std::shared_ptr<const TlsSyslogOptions> options, IngestPorts ports,
                           std::shared_ptr<TlsSyslogCounters> counters, ChannelIdentity identity,
                           Protocols admitted, std::unique_ptr<ConnectionGate::Slot> slot) {
  auto handshake =
      std::make_shared<Handshake>(std::move(stream), std::move(tls), std::move(options), ports,
                                  std::move(counters), identity, admitted, std::move(slot));
  // The caller runs on its listener's strand, not on the connection's: the
  // stream's operations must start on the latter.
  auto executor = handshake->executor();
  net::post(executor, [handshake = std::move(handshake)] { handshake->Start(); });
}

}  // namespace trailkeep
