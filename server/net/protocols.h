// Protocols: what a listener admits on its channels. Each listener declares
// its set once; the step that identifies a channel's protocol (the first
// bytes on port 60, the ALPN choice after a TLS handshake) picks among the
// admitted ones only and refuses the rest.
//
//   TLS syslog port:            RFC 5425 or trailkeep/1, by ALPN
//   port 60, tunnel channels:   auditd's remote protocol, or an agent's hello
//                               followed by TLS, where RFC 5425 or trailkeep/1
//                               is admitted (trailkeep/1 only through a tunnel:
//                               plain syslog could name any HOSTNAME)
//   [[listen.udp]]:             RFC 5426 datagrams (opt-in, plaintext)
//   [[listen.tcp]]:             RFC 6587 frames (opt-in, plaintext)
//
// Plaintext syslog is admitted on those two opt-in listeners only: a TLS
// port starts with a handshake, and port 60 hands plain syslog nowhere.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace trailkeep {

enum class Protocol : uint8_t {
  kAuditRemote = 1 << 0,  // auditd's remote logging (docs/formats/audit_remote.md)
  kAgentHello = 1 << 1,   // an agent's hello on port 60, then TLS (common/wire/port60_hello.h)
  kRfc5425 = 1 << 2,      // syslog over TLS, octet-counted frames
  kTrailkeep1 = 1 << 3,   // the agent protocol over TLS (docs/formats/agent_wire.md)
  kRfc5426 = 1 << 4,      // plaintext syslog over UDP, one message per datagram
  kRfc6587 = 1 << 5,      // plaintext syslog over TCP, octet-counted or LF frames
};

class Protocols {
 public:
  constexpr Protocols(std::initializer_list<Protocol> admitted) {
    for (Protocol p : admitted) bits_ |= static_cast<uint8_t>(p);
  }
  constexpr bool Admits(Protocol p) const { return (bits_ & static_cast<uint8_t>(p)) != 0; }

 private:
  uint8_t bits_ = 0;
};

// What the TLS syslog port admits after its handshake.
inline constexpr Protocols kTlsSyslogProtocols{Protocol::kRfc5425, Protocol::kTrailkeep1};
// What the plaintext listeners admit (plain_syslog_listener.h).
inline constexpr Protocols kUdpSyslogProtocols{Protocol::kRfc5426};
inline constexpr Protocols kTcpSyslogProtocols{Protocol::kRfc6587};

}  // namespace trailkeep
