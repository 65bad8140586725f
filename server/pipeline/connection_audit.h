// ConnectionAudit: the collector's ConnectionReporter (server/net/ingest.h).
// Each connection event (a refused handshake or certificate, a framing
// error, a limit, a refused agent) becomes a SelfAudit record of its kind,
// with the peer's address, the reason, and the certificate's subject and
// fingerprint, the listener and the tunnel when known. The self-audit
// rate-limits them, so a flood of refused connections cannot flood the store.
//
// Concurrency: thread-safe (SelfAudit is).
#pragma once

#include <string>

#include "server/net/ingest.h"

namespace trailkeep {

class SelfAudit;

class ConnectionAudit final : public ConnectionReporter {
 public:
  // `self_audit` must outlive this.
  explicit ConnectionAudit(SelfAudit* self_audit) : self_audit_(self_audit) {}

  void ReportConnectionEvent(ConnectionEventKind kind, const v1::Peer& peer,
                             const std::string& reason,
                             const ConnectionFields& extra = {}) override;

 private:
  SelfAudit* const self_audit_;
};

}  // namespace trailkeep
