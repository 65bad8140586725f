// One RFC 5425 connection: handshake -> read -> frame -> offer, with
// deadlines. Internal to server/net (included by the listener only).
//
// Life of a session: the TLS handshake runs under the handshake deadline;
// a failed handshake (bad certificate, garbage, plain TCP) is reported with
// the verifier's reason and the connection closed. Then reads run under the
// idle deadline; complete frames are offered to the IngestSink after each
// read, and while the sink refuses them the session stops reading and retries
// (back-pressure). A framing error closes the connection after the frames
// before it were handed over. At EOF or reset, a half-sent frame is reported.
//
// Agent connections (ALPN trailkeep/1 selected) are bound to a host through
// IngestSink::BindAgent before reading; the collector's Resume, Acks and
// Goodbye go out as octet-counted CollectorFrames (docs/formats/agent_wire.md),
// one write at a time beside the pending read.
#pragma once

#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "server/net/byte_stream.h"
#include "server/net/connection_gate.h"
#include "server/net/tls_syslog_listener.h"

namespace trailkeep {

// `identity.tunnel` becomes v1::Peer.tunnel (an agent through a tunnel).
void StartTlsSyslogSession(std::unique_ptr<ByteStream> stream,
                           std::shared_ptr<boost::asio::ssl::context> ctx,
                           std::shared_ptr<const TlsSyslogOptions> options, IngestSink* sink,
                           std::shared_ptr<TlsSyslogCounters> counters, ChannelIdentity identity,
                           // The listener's per-peer place; told when the handshake ends.
                           std::unique_ptr<ConnectionGate::Slot> slot = nullptr);

}  // namespace trailkeep
