// What the plaintext listeners' UDP receivers and TCP sessions share
// (plain_syslog_listener.h), and the Peer they give their frames. Internal
// to server/net.
#pragma once

#include <memory>
#include <string>

#include "server/net/ingest.h"
#include "server/net/plain_syslog_listener.h"
#include "server/net/source_rate_limiter.h"

namespace trailkeep {

struct PlainSyslogContext {
  PlainSyslogContext(const PlainSyslogOptions& o, const IngestPorts& ports)
      : options(o),
        sink(ports.ingest),
        reports(ports.reports),
        limiter(o.rate_per_source,
                o.burst_per_source > 0 ? o.burst_per_source : o.rate_per_source) {}

  const PlainSyslogOptions options;
  IngestSink* sink = nullptr;
  ConnectionReporter* reports = nullptr;
  PlainSyslogCounters counters;
  SourceRateLimiter limiter;
};

// An unauthenticated sender: its "ip:port", the listener, the transport
// (v1::TRANSPORT_UDP_SYSLOG or v1::TRANSPORT_TCP_SYSLOG).
std::shared_ptr<const v1::Peer> PlainPeer(std::string address, std::string listener, int transport);

}  // namespace trailkeep
