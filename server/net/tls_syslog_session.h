// The TLS step of a syslog-port connection, and the choice of its protocol
// session. Internal to server/net (included by the listener only).
//
// The handshake runs under the handshake deadline; a failed one (bad
// certificate, garbage, plain TCP: plaintext is never admitted here) is
// reported with the verifier's reason and the connection closed. A verified
// peer outside permitted_peers is refused. Then the ALPN choice picks the
// session, trailkeep/1 (agent_session.h) or RFC 5425 (octet-counted syslog
// frames, framed_tls_session.h), among those `admitted` (protocols.h); one
// not admitted is refused and reported. The handshake uses `tls`'s context
// of the moment; a session with a verified client certificate is tracked by
// `tls` (re-checked, and closed if refused, when the context is replaced).
#pragma once

#include <memory>

#include "server/net/byte_stream.h"
#include "server/net/connection_gate.h"
#include "server/net/protocols.h"
#include "server/net/server_tls.h"
#include "server/net/tls_syslog_listener.h"

namespace trailkeep {

// `identity.tunnel` becomes v1::Peer.tunnel (an agent through a tunnel).
void StartTlsSyslogSession(std::unique_ptr<ByteStream> stream, std::shared_ptr<ServerTls> tls,
                           std::shared_ptr<const TlsSyslogOptions> options, IngestPorts ports,
                           std::shared_ptr<TlsSyslogCounters> counters, ChannelIdentity identity,
                           Protocols admitted,
                           // The listener's per-peer place; told when the handshake ends.
                           std::unique_ptr<ConnectionGate::Slot> slot = nullptr);

}  // namespace trailkeep
