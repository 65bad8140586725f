#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>

#include <unistd.h>

#include "common/base/endpoint.h"
#include "common/config/toml_reader.h"
#include "common/ndcpp/default_rules_path.h"
#include "common/ndcpp/rules.h"
#include "common/tls/tls_profile.h"
#include "server/app/config.h"
#include "server/app/disk_space_config.h"
#include "server/app/privileges.h"
#include "server/app/retention_config.h"
#include "server/tunnel/key_file.h"

namespace trailkeep {
namespace {

// name_format (and, for "user", name) of [audit] or one [[listen.audit]];
// *out is left alone when the table has no name_format.
void ReadNaming(const toml::table& t, const std::string& prefix, TomlReader* r,
                std::optional<audit::NodeNaming>* out) {
  std::string format, name;
  r->String(t, prefix, "name_format", &format);
  r->String(t, prefix, "name", &name);
  const toml::node* fn = t.get("name_format");
  audit::NodeNaming naming;
  if (fn != nullptr && !audit::ParseNameFormat(format, &naming.format)) {
    r->Error(fn, prefix +
                     "name_format must be one of none, hostname, fqd, numeric, user "
                     "(auditd.conf's name_format), not \"" +
                     format + "\"");
    return;
  }
  const bool user = fn != nullptr && naming.format == audit::NameFormat::kUser;
  if (user && name.empty()) {
    r->Error(fn, prefix + "name_format = \"user\" needs " + prefix + "name = \"...\"");
  } else if (!user && t.get("name") != nullptr) {
    r->Error(t.get("name"), prefix + "name is used only with name_format = \"user\"");
  }
  if (fn == nullptr) return;
  naming.user_name = name;
  *out = std::move(naming);
}

void ReadAuditNaming(const toml::table& root, TomlReader* r, ServerConfig* c) {
  r->Seen("", "audit");
  const toml::table* t = root["audit"].as_table();
  if (t == nullptr) return;
  std::optional<audit::NodeNaming> naming;
  ReadNaming(*t, "audit.", r, &naming);
  if (naming) c->audit_naming = std::move(*naming);
  r->Unknown(*t, "audit.");
}

// hostname_binding of one [[listen.syslog]] (legacy senders' host policy).
void ReadHostnameBinding(const toml::table& t, const std::string& prefix,
                         const std::string& address, TomlReader* r, ServerConfig* c) {
  std::string text;
  r->String(t, prefix, "hostname_binding", &text);
  const toml::node* n = t.get("hostname_binding");
  if (n == nullptr) return;
  HostnameBinding binding;
  if (!ParseHostnameBinding(text, &binding)) {
    r->Error(n, prefix + "hostname_binding must be one of flag, refuse, off, not \"" + text + "\"");
    return;
  }
  c->syslog_listener_binding.emplace_back(address, binding);
}

// [legacy_syslog.allowed_hosts]: the hosts a legacy sender's certificate may
// speak for beyond its own names (relays, gear named otherwise).
void ReadLegacySyslog(const toml::table& root, TomlReader* r, ServerConfig* c) {
  r->Seen("", "legacy_syslog");
  const toml::table* t = root["legacy_syslog"].as_table();
  if (t == nullptr) return;
  const std::string prefix = "legacy_syslog.";
  r->Seen(prefix, "allowed_hosts");
  if (const toml::node* an = t->get("allowed_hosts")) {
    const toml::table* m = an->as_table();
    if (m == nullptr) {
      r->Error(an,
               prefix + "allowed_hosts must be a table: \"certificate name\" = [\"pattern\", ...]");
    } else {
      for (const auto& [identity, patterns] : *m) {
        const std::string key = std::string(identity.str());
        std::vector<std::string> list;
        const toml::array* arr = patterns.as_array();
        bool ok = arr != nullptr;
        for (size_t i = 0; ok && i < arr->size(); ++i) {
          const auto* v = arr->get(i)->as_string();
          ok = v != nullptr && !v->get().empty();
          if (ok) list.push_back(v->get());
        }
        if (!ok) {
          r->Error(&patterns, prefix + "allowed_hosts.\"" + key +
                                  "\" must be a list of host patterns, e.g. [\"web-*\"]");
          continue;
        }
        c->legacy_allowed_hosts.emplace_back(key, std::move(list));
      }
    }
  }
  r->Unknown(*t, prefix);
}

void ReadListeners(const toml::table& root, TomlReader* r, ServerConfig* c) {
  const toml::node* listen = root.get("listen");
  r->Seen("", "listen");
  if (listen == nullptr) return;
  const toml::table* lt = listen->as_table();
  if (lt == nullptr) {
    r->Error(listen, "listen must be a table holding [[listen.syslog]] entries");
    return;
  }
  for (const auto& [k, v] : *lt) {
    const std::string kind(k.str());
    if (kind != "syslog" && kind != "export" && kind != "audit" && kind != "udp" && kind != "tcp") {
      r->Error(&v, "unknown listener kind listen." + kind +
                       " (this version has [[listen.syslog]], [[listen.export]], "
                       "[[listen.audit]], [[listen.udp]] and [[listen.tcp]])");
      continue;
    }
    const toml::array* arr = v.as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      r->Error(&v, "listen." + kind + " must be an array of tables: [[listen." + kind + "]]");
      continue;
    }
    std::vector<std::string>& addresses = kind == "syslog"   ? c->syslog.addresses
                                          : kind == "export" ? c->export_api.addresses
                                          : kind == "udp"    ? c->plain_syslog.udp_addresses
                                          : kind == "tcp"    ? c->plain_syslog.tcp_addresses
                                                             : c->audit_remote.addresses;
    addresses.clear();
    if (kind == "audit") c->audit_listener_naming.clear();
    if (kind == "syslog") c->syslog_listener_binding.clear();
    const std::string prefix = "listen." + kind + ".";
    for (const auto& el : *arr) {
      const toml::table& t = *el.as_table();
      TomlReader& sub = *r;  // one set of known keys: every element reads the same names
      std::string address;
      const toml::node* an = t.get("address");
      sub.String(t, prefix, "address", &address);
      if (address.empty()) {
        r->Error(&el, "[[listen." + kind + "]] needs address = \"host:port\"");
        continue;
      }
      std::optional<audit::NodeNaming> naming;
      if (kind == "audit") ReadNaming(t, prefix, &sub, &naming);
      if (kind == "syslog") ReadHostnameBinding(t, prefix, address, &sub, c);
      try {
        std::string host;
        unsigned short port;
        SplitHostPort(address, &host, &port);
        addresses.push_back(address);
        if (naming) c->audit_listener_naming.emplace_back(address, std::move(*naming));
      } catch (const std::exception& e) {
        r->Error(an, e.what());
      }
      sub.Unknown(t, prefix);
    }
  }
}

// [plain_syslog]: the plaintext listeners' limits and the host of their senders.
void ReadPlainSyslog(const toml::table& root, TomlReader* r, ServerConfig* c) {
  r->Seen("", "plain_syslog");
  const toml::table* t = root["plain_syslog"].as_table();
  if (t == nullptr) return;
  const std::string prefix = "plain_syslog.";
  PlainSyslogOptions& o = c->plain_syslog;
  int64_t rate = 0, burst = 0;
  r->Integer(*t, prefix, "rate_per_source", &rate, 0, 10'000'000);
  r->Integer(*t, prefix, "burst_per_source", &burst, 0, 100'000'000);
  o.rate_per_source = static_cast<double>(rate);
  o.burst_per_source = static_cast<double>(burst);
  r->Integer(*t, prefix, "receive_buffer_bytes", &o.receive_buffer_bytes, 0, 1 << 30);
  r->Integer(*t, prefix, "max_connections", &o.max_connections, 1, 1'000'000);
  r->Seen(prefix, "hosts");
  if (const toml::node* hn = t->get("hosts")) {
    if (const toml::table* m = hn->as_table()) {
      for (const auto& [address, name] : *m) {
        if (const auto* v = name.as_string()) {
          c->plain_sources.hosts.emplace_back(std::string(address.str()), v->get());
        } else {
          r->Error(&name, prefix + "hosts.\"" + std::string(address.str()) +
                              "\" must be a string (the host name)");
        }
      }
    } else {
      r->Error(hn, prefix + "hosts must be a table: address or CIDR = \"host name\"");
    }
  }
  r->Seen(prefix, "relay");
  if (const toml::node* rn = t->get("relay")) {
    const toml::array* arr = rn->as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      r->Error(rn, "plain_syslog.relay must be an array of tables: [[plain_syslog.relay]]");
    } else {
      for (const auto& el : *arr) {
        const toml::table& rt = *el.as_table();
        PlainSourceConfig::Relay relay;
        r->String(rt, prefix + "relay.", "address", &relay.address);
        r->StringList(rt, prefix + "relay.", "hosts", &relay.host_patterns);
        r->Unknown(rt, prefix + "relay.");
        c->plain_sources.relays.push_back(std::move(relay));
      }
    }
  }
  if (auto made = PlainSourceHosts::Make(c->plain_sources); !made.ok()) {
    r->Error(t, "[plain_syslog]: " + made.status().message());
  }
  r->Unknown(*t, prefix);
}

void ReadScopes(TomlReader* r, const toml::table& t, const std::string& prefix, unsigned* scopes) {
  std::vector<std::string> names;
  r->StringList(t, prefix, "scopes", &names);
  std::string joined;
  for (const auto& n : names) joined += (joined.empty() ? "" : ",") + n;
  auto parsed = ParseScopes(joined);
  if (!parsed.ok()) {
    r->Error(t.get("scopes") != nullptr ? t.get("scopes") : &t,
             prefix + "scopes: " + parsed.status().message());
  } else {
    *scopes = parsed.value();
  }
}

void ReadExport(const toml::table& root, TomlReader* r, ServerConfig* c) {
  r->Seen("", "export");
  const toml::table* t = root["export"].as_table();
  if (t == nullptr) return;
  ExportServerOptions& x = c->export_api;
  r->String(*t, "export.", "token_file", &x.token_file);
  r->Integer(*t, "export.", "default_limit", &x.default_limit, 1, 1'000'000);
  r->Integer(*t, "export.", "max_limit", &x.max_limit, 1, 1'000'000);
  r->Integer(*t, "export.", "read_threads", &x.read_threads, 1, 64);
  r->Integer(*t, "export.", "max_connections", &x.max_connections, 1, 100'000);
  r->Integer(*t, "export.", "reserved_connections", &x.reserved_connections, 0, 100'000);
  r->Integer(*t, "export.", "max_connections_per_peer", &x.max_connections_per_peer, 1, 100'000);
  r->Integer(*t, "export.", "max_handshakes_per_peer", &x.max_handshakes_per_peer, 1, 100'000);
  r->Integer(*t, "export.", "handshake_timeout_ms", &x.handshake_timeout_ms, 100, 600'000);
  r->Integer(*t, "export.", "first_request_timeout_ms", &x.first_request_timeout_ms, 100, 600'000);
  r->Integer(*t, "export.", "max_streams", &x.max_streams, 1, 10'000);
  r->Integer(*t, "export.", "idle_timeout_ms", &x.idle_timeout_ms, 1000, 86'400'000);
  r->Integer(*t, "export.", "write_timeout_ms", &x.write_timeout_ms, 1000, 86'400'000);
  r->Seen("export.", "client");
  if (const toml::node* cn = t->get("client")) {
    const toml::array* arr = cn->as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      r->Error(cn, "export.client must be an array of tables: [[export.client]]");
    } else {
      for (const auto& el : *arr) {
        const toml::table& ct = *el.as_table();
        TomlReader& sub = *r;  // one set of known keys: every element reads the same names
        ClientRule rule;
        sub.String(ct, "export.client.", "name", &rule.name);
        if (rule.name.empty()) r->Error(&el, "[[export.client]] needs name = \"CN or SAN\"");
        ReadScopes(&sub, ct, "export.client.", &rule.scopes);
        sub.StringList(ct, "export.client.", "hosts", &rule.hosts);
        sub.Unknown(ct, "export.client.");
        x.clients.push_back(std::move(rule));
      }
    }
  }
  if (x.reserved_connections >= x.max_connections) {
    r->Error(t->get("reserved_connections"),
             "export.reserved_connections must be below export.max_connections");
  }
  if (x.default_limit > x.max_limit) {
    r->Error(t->get("default_limit"), "export.default_limit must not exceed export.max_limit");
  }
  r->Unknown(*t, "export.");
}

void ReadTls(const toml::table& root, TomlReader* r, ServerConfig* c) {
  r->Seen("", "tls");
  const toml::table* t = root["tls"].as_table();
  if (t == nullptr) return;
  TlsOptions& tls = c->syslog.tls;
  r->String(*t, "tls.", "cert_file", &tls.cert_file);
  r->String(*t, "tls.", "key_file", &tls.key_file);
  r->String(*t, "tls.", "ca_file", &tls.ca_file);
  r->String(*t, "tls.", "crl_file", &tls.crl_file);
  std::string auth;
  r->String(*t, "tls.", "client_auth", &auth);
  if (auth == "require") {
    tls.client_auth = ClientAuth::kRequire;
  } else if (auth == "optional") {
    tls.client_auth = ClientAuth::kOptional;
  } else if (auth == "none") {
    tls.client_auth = ClientAuth::kNone;
  } else if (!auth.empty()) {
    r->Error(t->get("client_auth"),
             "tls.client_auth must be \"require\", \"optional\" or \"none\"");
  }
  r->StringList(*t, "tls.", "permitted_peers", &tls.permitted_peers);
  r->StringList(*t, "tls.", "permitted_fingerprints", &tls.permitted_fingerprints);
  r->Bool(*t, "tls.", "session_tickets", &tls.session_tickets);
  std::string profile;
  r->String(*t, "tls.", "tls_profile", &profile);
  if (auto p = ParseTlsProfile(profile)) {
    tls.profile = *p;
  } else if (!profile.empty()) {
    r->Error(t->get("tls_profile"), "tls.tls_profile must be \"ndcpp\" or \"modern\"");
  }
  r->Unknown(*t, "tls.");
}

void ReadLimits(const toml::table& root, TomlReader* r, ServerConfig* c) {
  r->Seen("", "limits");
  const toml::table* t = root["limits"].as_table();
  if (t == nullptr) return;
  r->Integer(*t, "limits.", "max_frame_bytes", &c->syslog.max_frame_bytes, 480, 64 << 20);
  r->Integer(*t, "limits.", "handshake_timeout_ms", &c->syslog.handshake_timeout_ms, 100, 600'000);
  r->Integer(*t, "limits.", "idle_timeout_ms", &c->syslog.idle_timeout_ms, 1000, 86'400'000);
  r->Integer(*t, "limits.", "max_connections", &c->syslog.max_connections, 1, 1'000'000);
  r->Integer(*t, "limits.", "max_handshakes", &c->syslog.max_handshakes, 1, 1'000'000);
  r->Integer(*t, "limits.", "max_handshakes_per_peer", &c->syslog.max_handshakes_per_peer, 1,
             1'000'000);
  r->Unknown(*t, "limits.");
}

void ReadStore(const toml::table& root, TomlReader* r, ServerConfig* c) {
  r->Seen("", "store");
  const toml::table* t = root["store"].as_table();
  if (t == nullptr) return;
  r->Integer(*t, "store.", "commit_queue_bytes", &c->commit_queue_bytes, 1 << 20, 1LL << 34);
  r->Integer(*t, "store.", "memtable_bytes", &c->store_memory.memtable_bytes, 4 << 20, 1LL << 36);
  r->Integer(*t, "store.", "block_cache_bytes", &c->store_memory.block_cache_bytes, 1 << 20,
             1LL << 36);
  r->Integer(*t, "store.", "max_batch_events", &c->max_batch_events, 1, 1'000'000);
  ReadDiskSpaceConfig(*t, r, &c->disk);
  r->Path(*t, "store.", "backup_dir", &c->backup_dir);
  ReadRetentionConfig(*t, r, &c->retention);
  r->Unknown(*t, "store.");
}

void ReadSeal(const toml::table& root, TomlReader* r, ServerConfig* c) {
  r->Seen("", "seal");
  const toml::table* t = root["seal"].as_table();
  if (t == nullptr) return;
  r->Path(*t, "seal.", "state_file", &c->seal_state_file);
  std::string period;
  r->String(*t, "seal.", "period", &period);
  if (!period.empty()) {
    const auto us = ParseRetention(period);
    if (!us || *us < 1'000'000) {
      r->Error(t->get("period"),
               "seal.period must be a duration of at least 1s such as \"15m\", "
               "not \"" +
                   period + "\"");
    } else {
      c->seal_period_us = *us;
    }
  }
  r->Unknown(*t, "seal.");
}

void ReadNdcpp(const toml::table& root, TomlReader* r, ServerConfig* c) {
  r->Seen("", "ndcpp");
  const toml::table* t = root["ndcpp"].as_table();
  if (t == nullptr) return;
  r->String(*t, "ndcpp.", "rules_file", &c->rules_file);
  r->Unknown(*t, "ndcpp.");
}

void ReadAgents(const toml::table& root, TomlReader* r, ServerConfig* c) {
  r->Seen("", "agents");
  const toml::table* t = root["agents"].as_table();
  if (t == nullptr) return;
  r->String(*t, "agents.", "keys_dir", &c->keys_dir);
  r->String(*t, "agents.", "enroll_ca_cert", &c->enroll_ca_cert);
  r->String(*t, "agents.", "enroll_ca_key", &c->enroll_ca_key);
  r->Seen("agents.", "host_map");
  if (const toml::table* m = (*t)["host_map"].as_table()) {
    for (const auto& [identity, host] : *m) {
      if (const auto* v = host.as_string()) {
        c->host_map.emplace_back(std::string(identity.str()), v->get());
      } else {
        r->Error(&host, "agents.host_map." + std::string(identity.str()) +
                            " must be a string (the host name)");
      }
    }
  }
  r->Unknown(*t, "agents.");
}

void ReadSelfAudit(const toml::table& root, TomlReader* r, ServerConfig* c) {
  r->Seen("", "self_audit");
  const toml::table* t = root["self_audit"].as_table();
  if (t == nullptr) return;
  r->Integer(*t, "self_audit.", "window_seconds", &c->self_audit_window_seconds, 1, 3600);
  r->Integer(*t, "self_audit.", "burst", &c->self_audit_burst, 1, 100000);
  r->Unknown(*t, "self_audit.");
}

void ReadServer(const toml::table& root, TomlReader* r, ServerConfig* c) {
  r->Seen("", "server");
  const toml::table* t = root["server"].as_table();
  if (t == nullptr) return;
  r->String(*t, "server.", "user", &c->user);
  r->String(*t, "server.", "group", &c->group);
  if (auto u = ResolveServiceUser(c->user, c->group); !u.ok()) {
    // Each message starts with the key it is about.
    const std::string& msg = u.status().message();
    const toml::node* at = t->get(msg.rfind("server.group", 0) == 0 ? "group" : "user");
    r->Error(at != nullptr ? at : t, msg);
  }
  r->Unknown(*t, "server.");
}

// Keys of one [[tunnel]] table; files are checked here so that a wrong key
// type or a missing known_hosts fails at start-up, not at every retry.
void ReadTunnel(const toml::table& t, const toml::node& el, TomlReader* r, ServerConfig* c) {
  const std::string prefix = "tunnel.";
  TunnelConfig tc;
  TomlReader& sub = *r;  // one set of known keys: every element reads the same names
  sub.String(t, prefix, "name", &tc.name);
  sub.String(t, prefix, "host", &tc.host);
  sub.Integer(t, prefix, "port", &tc.port, 1, 65535);
  sub.String(t, prefix, "user", &tc.user);
  sub.String(t, prefix, "private_key_file", &tc.private_key_file);
  sub.String(t, prefix, "public_key_file", &tc.public_key_file);
  sub.String(t, prefix, "known_hosts_file", &tc.known_hosts_file);
  sub.String(t, prefix, "remote_bind", &tc.remote_bind);
  sub.String(t, prefix, "forward_to", &tc.forward_to);
  sub.Integer(t, prefix, "keepalive_seconds", &tc.keepalive_seconds, 2, 3600);
  sub.Integer(t, prefix, "liveness_seconds", &tc.liveness_seconds, 5, 86400);
  sub.Integer(t, prefix, "connect_timeout_seconds", &tc.connect_timeout_seconds, 1, 3600);
  sub.Integer(t, prefix, "backoff_min_ms", &tc.backoff_min_ms, 10, 3'600'000);
  sub.Integer(t, prefix, "backoff_max_ms", &tc.backoff_max_ms, 10, 3'600'000);
  sub.String(t, prefix, "name_format", &tc.name_format);
  if (audit::NameFormat f; !tc.name_format.empty() && !audit::ParseNameFormat(tc.name_format, &f)) {
    r->Error(t.get("name_format"),
             "tunnel.name_format must be one of none, hostname, fqd, numeric, user (auditd.conf's "
             "name_format; \"user\" names records by the tunnel's name), not \"" +
                 tc.name_format + "\"");
  }
  sub.Unknown(t, prefix);
  if (tc.host.empty()) r->Error(&el, "[[tunnel]] needs host = \"node.example.net\"");
  if (tc.name.empty()) tc.name = tc.host;
  if (tc.private_key_file.empty()) {
    r->Error(&el, "[[tunnel]] " + tc.name + " needs private_key_file");
  } else if (Status s = CheckTunnelKeyFile(tc.private_key_file); !s.ok()) {
    r->Error(t.get("private_key_file"), "tunnel.private_key_file: " + s.message());
  }
  if (tc.known_hosts_file.empty()) {
    r->Error(&el,
             "[[tunnel]] " + tc.name +
                 " needs known_hosts_file (the node's host key; ssh-keyscan -t ecdsa,ed25519)");
  } else if (access(tc.known_hosts_file.c_str(), R_OK) != 0) {
    r->Error(t.get("known_hosts_file"), "tunnel.known_hosts_file = \"" + tc.known_hosts_file +
                                            "\": cannot read the file (" + std::strerror(errno) +
                                            ")");
  }
  if (tc.keepalive_seconds * 2 > tc.liveness_seconds) {
    r->Error(&el, "[[tunnel]] " + tc.name +
                      ": liveness_seconds must be at least twice keepalive_seconds");
  }
  if (tc.backoff_min_ms > tc.backoff_max_ms) {
    r->Error(&el, "[[tunnel]] " + tc.name + ": backoff_min_ms exceeds backoff_max_ms");
  }
  const auto check_address = [&](const char* key, const std::string& v) {
    try {
      std::string host;
      unsigned short port;
      SplitHostPort(v, &host, &port);
    } catch (const std::exception& e) {
      r->Error(t.get(key), std::string("tunnel.") + key + ": " + e.what());
    }
  };
  check_address("remote_bind", tc.remote_bind);
  if (!tc.forward_to.empty()) check_address("forward_to", tc.forward_to);
  for (const auto& other : c->tunnels) {
    if (other.name == tc.name) r->Error(&el, "[[tunnel]] name " + tc.name + " used twice");
  }
  c->tunnels.push_back(std::move(tc));
}

void ReadTunnels(const toml::table& root, TomlReader* r, ServerConfig* c) {
  r->Seen("", "tunnel");
  const toml::node* n = root.get("tunnel");
  if (n == nullptr) return;
  const toml::array* arr = n->as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    r->Error(n, "tunnel must be an array of tables: [[tunnel]]");
    return;
  }
  for (const auto& el : *arr) ReadTunnel(*el.as_table(), el, r, c);
}

int LineOf(const toml::table& root, const std::string& dotted_key) {
  const toml::node* n = root.at_path(dotted_key).node();
  return n != nullptr ? static_cast<int>(n->source().begin.line) : 0;
}

void CheckFile(const std::string& cfg_file, const toml::table& root, const std::string& key,
               const std::string& path, bool required, std::vector<ConfigError>* errors) {
  if (path.empty()) {
    if (required) errors->push_back({cfg_file, LineOf(root, key), key + " is required"});
    return;
  }
  if (access(path.c_str(), R_OK) != 0) {
    errors->push_back(
        {cfg_file, LineOf(root, key),
         key + " = \"" + path + "\": cannot read the file (" + std::strerror(errno) + ")"});
  }
}

std::string LocalHostName() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace

std::vector<ConfigError> LoadConfig(const std::string& path, ServerConfig* c) {
  c->source = path;
  c->collector_name = LocalHostName();
  c->syslog.addresses = {"0.0.0.0:6514"};
  c->export_api.addresses = {"0.0.0.0:8443"};
  // Paths stay as written: relative ones are relative to the working
  // directory, as they always were for the collector's config.
  TomlReader r(path, ".");
  const std::optional<toml::table> parsed = r.ParseFile();
  if (!parsed) return r.errors();
  const toml::table& root = *parsed;
  r.String(root, "", "data_dir", &c->data_dir);
  r.String(root, "", "collector_name", &c->collector_name);
  r.String(root, "", "log_level", &c->log_level);
  r.Integer(root, "", "io_threads", &c->io_threads, 0, 256);
  r.Integer(root, "", "enterprise_number", &c->enterprise_number, 1, INT_MAX);
  ReadServer(root, &r, c);
  ReadListeners(root, &r, c);
  ReadTls(root, &r, c);
  ReadLimits(root, &r, c);
  ReadStore(root, &r, c);
  ReadSeal(root, &r, c);
  ReadSelfAudit(root, &r, c);
  ReadNdcpp(root, &r, c);
  ReadAgents(root, &r, c);
  ReadExport(root, &r, c);
  ReadTunnels(root, &r, c);
  ReadPlainSyslog(root, &r, c);
  ReadLegacySyslog(root, &r, c);
  ReadAuditNaming(root, &r, c);
  r.Unknown(root, "");
  std::vector<ConfigError> errors = r.errors();
  c->plain_syslog.max_frame_bytes = c->syslog.max_frame_bytes;
  c->plain_syslog.idle_timeout_ms = c->syslog.idle_timeout_ms;

  static const std::set<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                "error", "critical", "off"};
  if (!kLevels.count(c->log_level)) {
    errors.push_back({path, LineOf(root, "log_level"),
                      "log_level must be one of trace, debug, info, warn, error, critical, off"});
  }
  if (c->data_dir.empty()) errors.push_back({path, 0, "data_dir is required"});
  const TlsOptions& tls = c->syslog.tls;
  CheckFile(path, root, "tls.cert_file", tls.cert_file, true, &errors);
  CheckFile(path, root, "tls.key_file", tls.key_file, true, &errors);
  CheckFile(path, root, "tls.ca_file", tls.ca_file, tls.client_auth != ClientAuth::kNone, &errors);
  CheckFile(path, root, "tls.crl_file", tls.crl_file, false, &errors);
  CheckFile(path, root, "export.token_file", c->export_api.token_file, false, &errors);
  if (!c->export_api.token_file.empty() && access(c->export_api.token_file.c_str(), R_OK) == 0) {
    auto tokens = LoadTokenFile(c->export_api.token_file);
    if (!tokens.ok()) {
      errors.push_back({path, LineOf(root, "export.token_file"), tokens.status().message()});
    }
  }
  if (c->rules_file != "none") {
    // The rules file's own errors carry its own file:line.
    std::vector<std::string> rule_errors;
    const std::string rules = c->rules_file.empty() ? ndcpp::DefaultRulesPath() : c->rules_file;
    if (!ndcpp::RuleSet::LoadFile(rules, &rule_errors).ok()) {
      for (const auto& e : rule_errors) errors.push_back({"", 0, e});
      if (rule_errors.empty())
        errors.push_back(
            {path, LineOf(root, "ndcpp.rules_file"), "cannot load NDcPP rules " + rules});
    }
  }
  // In file order; errors without a line (missing keys) last.
  std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
    return (a.line == 0 ? INT_MAX : a.line) < (b.line == 0 ? INT_MAX : b.line);
  });
  return errors;
}

}  // namespace trailkeep
