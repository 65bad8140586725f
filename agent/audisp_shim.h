// The audisp shim: `trailkeep audisp --socket PATH`, run by auditd's
// dispatcher as a plugin (deploy/audisp-trailkeep.conf, format = string).
//
// Reads audit records from stdin, one per line, and relays them to the
// forwarder's unix socket (AudispListener). The forwarder answers
// "ACK <n>\n" once n more lines are durably spooled; lines stay in memory
// until acknowledged and are sent again after a reconnect (so a forwarder
// crash can at worst duplicate lines, never lose them). While the forwarder
// is away (reconnect with backoff) or has not acknowledged max_unacked
// lines/bytes (spool full), stdin is not read, so auditd's pipe and its
// dispatcher queue take the back-pressure.
//
// Ends with 0 at EOF once everything is acknowledged, or on SIGTERM/SIGINT
// after at most `term_grace_ms` spent delivering what is unacknowledged
// (what remains is reported). SIGHUP is ignored. Plain POSIX: no Asio.
#pragma once

#include <cstddef>
#include <string>

namespace trailkeep::agent {

struct ShimOptions {
  std::string socket_path;
  int in_fd = 0;
  size_t max_unacked_lines = 20000;
  size_t max_unacked_bytes = 16 << 20;
  int retry_min_ms = 100;
  int retry_max_ms = 5000;
  int term_grace_ms = 5000;
};

int RunAudispShim(const ShimOptions& options);

}  // namespace trailkeep::agent
