// auditd's name_format for records that arrive without node=: which name the
// collector gives their event (AuditEvent.node), as auditd.conf's
// `name_format = none|hostname|fqd|numeric|user` would have put it on them.
//
// The collector knows a sender only by its channel (NodeIdentity), and never
// asks DNS: a reverse lookup would block the thread that groups records, and
// its answer is not authenticated. So a name it cannot know is replaced by
// what it does know, as documented per mode below.
#pragma once

#include <string>
#include <string_view>

namespace trailkeep::audit {

enum class NameFormat { kNone, kHostname, kFqd, kNumeric, kUser };

// Parses "none|hostname|fqd|numeric|user"; false otherwise.
bool ParseNameFormat(std::string_view text, NameFormat* out);

// A source's setting: the mode, and the name for kUser.
struct NodeNaming {
  NameFormat format = NameFormat::kHostname;
  std::string user_name;
};

// What the channel tells about the sender.
struct NodeIdentity {
  // Authenticated name: the [[tunnel]]'s node name, or the host an agent's
  // certificate names; "" for an unauthenticated peer (stock audisp-remote).
  std::string name;
  // Fully qualified: the [[tunnel]]'s host, or the certificate's first DNS
  // name with a dot; "" when unknown.
  std::string fqdn;
  // The peer's IP address; for a tunnel (whose TCP peer is the collector's
  // own loopback bridge) the [[tunnel]]'s host as configured.
  std::string address;
};

// none -> ""; hostname -> `name` up to its first dot (an IP literal is kept
// whole), else the address; fqd -> `fqdn`, else `name`, else the address;
// numeric -> the address; user -> naming.user_name.
std::string NodeName(const NodeNaming& naming, const NodeIdentity& who);

}  // namespace trailkeep::audit
