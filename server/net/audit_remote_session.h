// One port-60 connection (internal to server/net: names Asio).
//
// The first bytes decide what it is: a trailkeep agent's hello (NUL first,
// common/wire/port60_hello.h) is answered and the connection handed to the
// TLS syslog listener; anything else is auditd's remote protocol.
//
// Reads managed frames and ASCII lines (common/wire/audit_remote_frame.h).
// A MESSAGE is offered to the sink as one record and acknowledged once it is
// durably stored; a HEARTBEAT is acknowledged at once; replies leave in
// request order with the request's sequence id. ASCII lines are stored
// without a reply (format = ascii has none). While the store refuses
// records, the session retries them and stops reading. A record not durable
// within blocked_reply_ms (refused, or its commit stalls on a full disk) is
// answered DISKFULL, before audisp-remote's reply timeout: the client keeps
// it and resends it later, and should the first copy be stored after all,
// RecordDeduper drops the second. While the store's disk is full by policy
// (AuditRemoteOptions::disk_full) a record the sink refuses is answered
// DISKFULL at once and not kept, as auditd does; the session reads on. A
// frame that cannot be taken (bad
// header version, oversize payload or line) gets a fatal reply and the
// connection closes, reported as a framing error.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "server/net/audit_remote_listener.h"
#include "server/net/byte_stream.h"
#include "server/net/protocols.h"

namespace trailkeep {

class AuditRemoteSessionHandle {
 public:
  virtual ~AuditRemoteSessionHandle() = default;
  // Sends ENDING (seq 0) and closes; safe from any thread.
  virtual void End() = 0;
};

// What one port-60 channel admits, as its listener declares it: by its first
// bytes (auditd's protocol, an agent's hello), and after a hello, what its
// TLS session may carry.
struct Port60Protocols {
  Protocols first;
  Protocols after_hello;
};

// Starts the session; the returned handle stays valid after the session
// ended (End() is then a no-op). The sender is who `identity` says: a
// tunnel's node, else its address.
std::shared_ptr<AuditRemoteSessionHandle> StartAuditRemoteSession(
    std::unique_ptr<ByteStream> stream, const ChannelIdentity& identity, Port60Protocols admitted,
    std::shared_ptr<const AuditRemoteOptions> options, IngestSink* ingest,
    ConnectionReporter* reports, TlsSyslogListener* agents,
    std::shared_ptr<AuditRemoteCounters> counters);

}  // namespace trailkeep
