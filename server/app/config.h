// The collector's validated configuration (docs/configuration.md lists
// every key). Built once at start-up by LoadConfig / MakeDevConfig.
#pragma once

#include <string>
#include <vector>

#include "server/net/tls_syslog_listener.h"

namespace trailkeep {

struct ServerConfig {
  std::string source;          // the file it came from, or "--dev DIR"
  std::string data_dir;        // store, ports.json
  std::string collector_name;  // HOSTNAME of the collector's own events
  std::string log_level = "info";
  int io_threads = 0;  // 0: one per core
  bool dev_mode = false;

  TlsSyslogOptions syslog;  // [[listen.syslog]] + [tls] + [limits]

  size_t commit_queue_bytes = 64u << 20;
  size_t max_batch_events = 16384;

  int self_audit_window_seconds = 10;
  int self_audit_burst = 10;
  int enterprise_number = 32473;
};

struct ConfigError {
  std::string file;
  int line = 0;  // 0 when the error has no position
  std::string message;
  std::string ToString() const;
};

// Parses and validates `path`. Every error found is returned (not only the
// first); the config is usable only when the list is empty.
std::vector<ConfigError> LoadConfig(const std::string& path, ServerConfig* config);

// Development mode: data and a throwaway PKI under `dir`, created on first
// run; loopback listener on 127.0.0.1:6514; client_auth "optional".
// Throws std::runtime_error when the folder or PKI cannot be made.
ServerConfig MakeDevConfig(const std::string& dir);

}  // namespace trailkeep
