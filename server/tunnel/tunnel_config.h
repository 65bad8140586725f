// TunnelConfig: one [[tunnel]] table, a reverse SSH tunnel the collector
// opens to a node and keeps open (docs/tunnels.md). Plain data, validated
// once by the config loader; TunnelManager builds one tunnel per entry.
#pragma once

#include <cstdint>
#include <string>

namespace trailkeep {

struct TunnelConfig {
  std::string name;  // the node's identity for records arriving through the tunnel
  std::string host;  // the node's sshd
  uint16_t port = 22;
  std::string user = "root";                 // binding port 60 on the node needs a root login
  std::string private_key_file;              // Ed25519 or ECDSA (libssh2 1.10 signs RSA with SHA-1)
  std::string public_key_file;               // optional: derived from the private key when empty
  std::string known_hosts_file;              // the node's host key, OpenSSH format; required
  std::string remote_bind = "127.0.0.1:60";  // where sshd listens on the node
  // Where forwarded channels are delivered: "" means the collector's first
  // [[listen.audit]] address (wildcards replaced by loopback).
  std::string forward_to;
  int keepalive_seconds = 15;
  int liveness_seconds = 60;         // no inbound bytes for this long: the session is dead
  int connect_timeout_seconds = 20;  // TCP connect to forward request granted
  int backoff_min_ms = 1000;
  int backoff_max_ms = 60000;
  // auditd name_format for its records without node= ("" = the listener's or
  // [audit]'s); "user" names them `name` (server/app/config_loader.cc).
  std::string name_format;
};

}  // namespace trailkeep
