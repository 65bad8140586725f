// The trailkeep/1 agent protocol (docs/formats/agent_wire.md) on an
// authenticated TLS connection. Internal to server/net.
//
// The connection is bound to the host its certificate names through
// AgentBinder::BindAgent (one live connection per host: a newer one closes
// this one with a Goodbye); the collector's Resume, Acks and Goodbye go out
// as octet-counted CollectorFrames, through the AgentLink the binder holds. A
// refused binding is answered with a Goodbye naming the reason, then the
// connection closes. The agent's frames are read like any framed session's,
// each carrying the bound host.
#pragma once

#include <memory>

#include "server/net/framed_tls_session.h"

namespace trailkeep {

void StartAgentSession(std::shared_ptr<FramedTlsSession> session, AgentBinder* binder,
                       std::shared_ptr<TlsSyslogCounters> counters);

}  // namespace trailkeep
