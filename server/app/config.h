// The collector's validated configuration (docs/configuration.md lists
// every key). Built once at start-up by LoadConfig / MakeDevConfig.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/audit/node_name.h"
#include "common/config/config_error.h"
#include "server/app/disk_policy.h"
#include "server/net/audit_remote_listener.h"
#include "server/net/plain_syslog_listener.h"
#include "server/net/tls_syslog_listener.h"
#include "server/pipeline/legacy_host_rules.h"
#include "server/pipeline/plain_source_host.h"
#include "server/sinks/export_https_server.h"
#include "server/store/retention.h"
#include "server/store/store.h"
#include "server/tunnel/tunnel_config.h"

namespace trailkeep {

struct ServerConfig {
  std::string source;          // the file it came from, or "--dev DIR"
  std::string data_dir;        // store, ports.json
  std::string collector_name;  // HOSTNAME of the collector's own events
  std::string log_level = "info";
  int io_threads = 0;  // 0: one per core
  bool dev_mode = false;
  // [server] user / group: started as root, trailkeepd binds its ports and
  // then runs as this user and group with no capability
  // (server/app/privileges.h); "" = no switch. Validated by LoadConfig.
  std::string user;
  std::string group;

  TlsSyslogOptions syslog;  // [[listen.syslog]] + [tls] + [limits]
  // hostname_binding of the [[listen.syslog]] tables that set it, by
  // configured address (a listener whose configured address, the file's or
  // --listen-syslog's in its place, is the one a table named takes it), and
  // [legacy_syslog.allowed_hosts]: certificate identity -> host patterns
  // (server/pipeline/legacy_host_rules.h).
  std::vector<std::pair<std::string, HostnameBinding>> syslog_listener_binding;
  std::vector<std::pair<std::string, std::vector<std::string>>> legacy_allowed_hosts;
  // [[listen.export]] + [export] + [[export.client]]; its TLS settings are
  // taken from [tls] at start-up (client certificates optional).
  ExportServerOptions export_api;
  // [[listen.audit]] / --listen-audit: auditd's remote protocol, usually on
  // 127.0.0.1:60 (deploy/trailkeepd.toml); no listener when neither is given.
  AuditRemoteOptions audit_remote;
  // node= for audit records without one (auditd's name_format): [audit]
  // name_format / name, overridden per [[listen.audit]] (below: the ones
  // that set it, by configured address) and per [[tunnel]]
  // (TunnelConfig::name_format).
  audit::NodeNaming audit_naming;
  std::vector<std::pair<std::string, audit::NodeNaming>> audit_listener_naming;
  // [[listen.udp]] / [[listen.tcp]] (or --listen-udp / --listen-tcp) and
  // [plain_syslog]: plaintext syslog, off unless an address is given; its
  // frame size and idle timeout are [limits]'. The host of its senders:
  // [plain_syslog.hosts] and [[plain_syslog.relay]], checked by LoadConfig.
  PlainSyslogOptions plain_syslog;
  PlainSourceConfig plain_sources;

  size_t commit_queue_bytes = 32u << 20;
  // [store] memtable_bytes, block_cache_bytes: the store's memory
  // (server/store/store.h, StoreMemory); with commit_queue_bytes, what the
  // collector holds for ingest whatever the load.
  StoreMemory store_memory;
  size_t max_batch_events = 4096;
  // [store] space_left (or its older spelling space_warning_mb),
  // admin_space_left, reserve, disk_full_action: the levels of free space on
  // the store's disk and what happens at each (server/app/disk_policy.h).
  DiskSpaceConfig disk;
  // [store] backup_dir: where POST /v1/backup writes (default data_dir/backups).
  std::string backup_dir;
  // [store] retention and [[store.retention_override]] (server/store/retention.h).
  RetentionPolicy retention;
  // [seal] (docs/formats/seal.md): the sealing key's state file ("" =
  // data_dir/seal.state, outside the store so backups never carry it) and
  // the key period `trailkeepd seal-setup` and --dev set up with.
  std::string seal_state_file;
  int64_t seal_period_us = 900'000'000;
  std::string SealStatePath() const {
    return seal_state_file.empty() ? data_dir + "/seal.state" : seal_state_file;
  }

  // NDcPP rules ([ndcpp] rules_file); "" = the rules shipped with the binary
  // (ndcpp::DefaultRulesPath()), "none" = no classification.
  std::string rules_file;

  int self_audit_window_seconds = 10;
  int self_audit_burst = 10;
  int enterprise_number = 32473;

  // [agents]: trailkeep agents (docs/design.md, 'The agent chain').
  // keys_dir: one HMAC key per host, "<keys_dir>/<host>.key", mode 0600.
  std::string keys_dir;
  // Certificate identity -> host name, for agents whose certificate names
  // them otherwise ([agents.host_map]); by default the identity is the host.
  std::vector<std::pair<std::string, std::string>> host_map;
  // CA that `trailkeepd enroll` signs agent certificates with.
  std::string enroll_ca_cert;
  std::string enroll_ca_key;

  // [[tunnel]]: reverse SSH tunnels to nodes (docs/tunnels.md).
  std::vector<TunnelConfig> tunnels;
};

// Parses and validates `path`. Every error found is returned (not only the
// first); the config is usable only when the list is empty.
std::vector<ConfigError> LoadConfig(const std::string& path, ServerConfig* config);

// Development mode: data and a throwaway PKI under `dir`, created on first
// run; loopback listeners on 127.0.0.1:6514 (syslog) and 127.0.0.1:8443 (API);
// client_auth "optional"; DIR/admin.token (a plain token with every scope,
// mode 0600) and its hashed entry in DIR/export-tokens; the dev client
// certificate ("dev-client") has every API scope; events are kept forever.
// Throws std::runtime_error when the folder or PKI cannot be made.
ServerConfig MakeDevConfig(const std::string& dir);

}  // namespace trailkeep
