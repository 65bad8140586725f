// The forwarder's configuration file (`trailkeep forward --config FILE`),
// read once at start-up into a validated AgentConfig. deploy/agent.toml is the
// commented example; every key:
//
//   [agent]      host, spool_dir, spool_max_bytes, segment_bytes, enterprise_number,
//                heartbeat_interval_ms, hmac_key_file, identity_files, poll_interval_ms
//   [collector]  address, server_name, ca_file, pinned_sha256, cert_file, key_file, acks,
//                reconnect_min_ms, reconnect_max_ms
//   [[input]]    name, path, start, kind, facility, severity;
//                kind "journal": journal_dir, units, identifiers, priority (no path)
//   [audisp]     socket, facility, severity
//
// LoadAgentConfig reports every problem it finds at once, each as
// "FILE:LINE: message" on its own line, and never touches the files the
// config names (the HMAC key's mode is checked by the forwarder at start).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/tls/tls_profile.h"

namespace trailkeep::agent {

enum class InputKind { kSyslog, kAudit, kJournal };
enum class AckMode { kRequired, kNone };
// "tls": the collector's RFC 5425 port. "port60": the reverse SSH tunnel's far
// end on this node; a hello, then the same TLS session (port60_hello.h).
enum class CollectorTransport { kTls, kPort60 };

struct InputConfig {
  std::string name;
  std::string path;  // a file or a glob ("/var/log/nginx/*.log"); "" for the journal
  bool start_at_end = true;
  InputKind kind = InputKind::kSyslog;
  int facility = 1;  // user; for the journal: of entries without SYSLOG_FACILITY
  int severity = 5;  // notice; for the journal: of entries without PRIORITY
  // kind "journal" (agent/journal_reader.h): entries of any of `units` or
  // `identifiers` (all when both are empty) with PRIORITY <= max_priority.
  std::string journal_dir;  // "" = this host's journal
  std::vector<std::string> units, identifiers;
  int max_priority = 7;  // debug: every priority
};

struct AuditSocketConfig {
  std::string socket;  // "" = no shim socket
  int facility = 10;   // authpriv
  int severity = 6;    // info
};

struct CollectorConfig {
  std::string address;  // host:port or [v6]:port
  std::string host, port;
  std::string server_name;  // SNI and certificate name (default: host)
  std::string ca_file;
  std::string pinned_sha256;  // 32 raw bytes when set
  std::string cert_file, key_file;
  AckMode acks = AckMode::kRequired;
  CollectorTransport transport = CollectorTransport::kTls;
  int reconnect_min_ms = 500;
  int reconnect_max_ms = 30000;
  TlsProfile tls_profile = TlsProfile::kNdcpp;  // common/tls/tls_profile.h
};

struct AgentConfig {
  std::string file;  // where it was read from

  std::string host;
  std::string spool_dir;
  uint64_t spool_max_bytes = uint64_t{1} << 30;
  uint64_t segment_bytes = uint64_t{16} << 20;
  uint32_t enterprise_number = 32473;
  int heartbeat_interval_ms = 10000;
  int poll_interval_ms = 200;
  std::string hmac_key_file;
  std::vector<std::string> identity_files = {"/etc/passwd", "/etc/group"};

  CollectorConfig collector;
  std::vector<InputConfig> inputs;
  AuditSocketConfig audisp;
};

Result<AgentConfig> LoadAgentConfig(const std::string& path);
// The same from text (tests); `file` names it in error messages.
Result<AgentConfig> ParseAgentConfig(const std::string& text, const std::string& file);

// "authpriv" -> 10, "info" -> 6; -1 when unknown.
int FacilityCode(const std::string& name);
int SeverityCode(const std::string& name);

// "sha-256:AB:CD:..." (or plain hex, colons optional) -> 32 raw bytes.
bool ParseSha256Fingerprint(const std::string& text, std::string* raw);

}  // namespace trailkeep::agent
