#include "agent/agent_config.h"

#include <array>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include "common/base/endpoint.h"
#include "common/config/toml_reader.h"
#include "common/wire/hmac_chain.h"

namespace trailkeep::agent {
namespace {

constexpr std::array<const char*, 24> kFacilities = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog",   "lpr",     "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "security", "console", "solaris-cron",
    "local0", "local1", "local2",   "local3", "local4", "local5",   "local6",  "local7"};
constexpr std::array<const char*, 8> kSeverities = {"emerg",   "alert",  "crit", "err",
                                                    "warning", "notice", "info", "debug"};

// host:port or [v6]:port, port 1..65535 (common/base/endpoint.h).
bool SplitCollectorAddress(const std::string& address, std::string* host, std::string* port) {
  Result<HostPort> r = ParseHostPort(address);
  if (!r.ok() || r->port == 0) return false;
  *host = std::move(r->host);
  *port = std::to_string(r->port);
  return true;
}

}  // namespace

int FacilityCode(const std::string& name) {
  for (size_t i = 0; i < kFacilities.size(); ++i) {
    if (name == kFacilities[i]) return static_cast<int>(i);
  }
  return -1;
}

int SeverityCode(const std::string& name) {
  for (size_t i = 0; i < kSeverities.size(); ++i) {
    if (name == kSeverities[i]) return static_cast<int>(i);
  }
  return -1;
}

bool ParseSha256Fingerprint(const std::string& text, std::string* raw) {
  std::string_view t = text;
  for (std::string_view prefix : {"sha-256:", "SHA-256:", "sha256:", "SHA256:"}) {
    if (t.substr(0, prefix.size()) == prefix) {
      t.remove_prefix(prefix.size());
      break;
    }
  }
  std::string hex;
  for (char c : t) {
    if (c == ':') continue;
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    hex.push_back(c);
  }
  return hex.size() == 2 * kMacBytes && ParseLowerHex(hex, raw);
}

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseAgentConfig(ss.str(), path);
}

Result<AgentConfig> ParseAgentConfig(const std::string& text, const std::string& file) {
  TomlReader r(file, std::filesystem::path(file).parent_path().string());
  AgentConfig c;
  c.file = file;

  const std::optional<toml::table> parsed = r.Parse(text);
  if (!parsed) return Status::InvalidArgument(r.ErrorText());
  const toml::table& root = *parsed;

  // [agent]
  if (const toml::table* a = root["agent"].as_table()) {
    r.String(*a, "agent.", "host", &c.host);
    r.Path(*a, "agent.", "spool_dir", &c.spool_dir);
    r.Integer(*a, "agent.", "spool_max_bytes", &c.spool_max_bytes, 1 << 20, INT64_MAX);
    r.Integer(*a, "agent.", "segment_bytes", &c.segment_bytes, 4096, int64_t{1} << 32);
    r.Integer(*a, "agent.", "enterprise_number", &c.enterprise_number, 1, UINT32_MAX);
    r.Integer(*a, "agent.", "heartbeat_interval_ms", &c.heartbeat_interval_ms, 100, 3600 * 1000);
    r.Integer(*a, "agent.", "poll_interval_ms", &c.poll_interval_ms, 10, 60 * 1000);
    r.Path(*a, "agent.", "hmac_key_file", &c.hmac_key_file);
    r.PathList(*a, "agent.", "identity_files", &c.identity_files);
    r.Unknown(*a, "agent.");
    if (c.host.empty()) r.Error(a, "agent.host is required (the HOSTNAME this agent sends)");
    for (char ch : c.host) {
      if (ch <= 32 || ch >= 127) {
        r.Error(a->get("host"), "agent.host must be printable ASCII without spaces");
        break;
      }
    }
    if (c.host.size() > 255) r.Error(a->get("host"), "agent.host is longer than 255 characters");
    if (c.spool_dir.empty()) r.Error(a, "agent.spool_dir is required");
    if (c.hmac_key_file.empty()) r.Error(a, "agent.hmac_key_file is required");
    if (c.segment_bytes > c.spool_max_bytes) {
      r.Error(a->get("segment_bytes"), "agent.segment_bytes must not exceed agent.spool_max_bytes");
    }
    if (c.identity_files.size() != 2) {
      r.Error(a->get("identity_files"),
              "agent.identity_files must name two files: a passwd and a group file");
    }
  } else {
    r.Error(&root, "the [agent] table is required");
  }

  // [collector]
  if (const toml::table* t = root["collector"].as_table()) {
    CollectorConfig& cc = c.collector;
    std::string pin, acks, transport;
    r.String(*t, "collector.", "address", &cc.address);
    r.String(*t, "collector.", "transport", &transport);
    r.String(*t, "collector.", "server_name", &cc.server_name);
    r.Path(*t, "collector.", "ca_file", &cc.ca_file);
    r.String(*t, "collector.", "pinned_sha256", &pin);
    r.Path(*t, "collector.", "cert_file", &cc.cert_file);
    r.Path(*t, "collector.", "key_file", &cc.key_file);
    r.String(*t, "collector.", "acks", &acks);
    r.Integer(*t, "collector.", "reconnect_min_ms", &cc.reconnect_min_ms, 10, 3600 * 1000);
    r.Integer(*t, "collector.", "reconnect_max_ms", &cc.reconnect_max_ms, 10, 3600 * 1000);
    std::string profile;
    r.String(*t, "collector.", "tls_profile", &profile);
    if (auto p = ParseTlsProfile(profile)) {
      cc.tls_profile = *p;
    } else if (!profile.empty()) {
      r.Error(t->get("tls_profile"), "collector.tls_profile must be \"ndcpp\" or \"modern\"");
    }
    r.Unknown(*t, "collector.");
    if (transport.empty() || transport == "tls") {
      cc.transport = CollectorTransport::kTls;
    } else if (transport == "port60") {
      cc.transport = CollectorTransport::kPort60;
      if (cc.address.empty()) cc.address = "127.0.0.1:60";  // the tunnel's far end
    } else {
      r.Error(t->get("transport"),
              "collector.transport must be \"tls\" or \"port60\", not '" + transport + "'");
    }
    if (cc.address.empty()) {
      r.Error(t, "collector.address is required (host:port)");
    } else if (!SplitCollectorAddress(cc.address, &cc.host, &cc.port)) {
      r.Error(t->get("address"),
              "collector.address must be host:port or [v6]:port, not '" + cc.address + "'");
    }
    if (cc.server_name.empty()) cc.server_name = cc.host;
    if (!pin.empty() && !ParseSha256Fingerprint(pin, &cc.pinned_sha256)) {
      r.Error(t->get("pinned_sha256"),
              "collector.pinned_sha256 must be a SHA-256 certificate fingerprint "
              "(\"sha-256:AB:CD:...\", 32 bytes)");
    }
    if (cc.ca_file.empty() && pin.empty()) {
      r.Error(t, "collector needs ca_file or pinned_sha256 (or both) to verify the collector");
    }
    if (cc.cert_file.empty() || cc.key_file.empty()) {
      r.Error(t, "collector.cert_file and collector.key_file are required (the agent's identity)");
    }
    if (acks.empty() || acks == "required") {
      cc.acks = AckMode::kRequired;
    } else if (acks == "none") {
      cc.acks = AckMode::kNone;
    } else {
      r.Error(t->get("acks"),
              "collector.acks must be \"required\" or \"none\", not '" + acks + "'");
    }
    if (cc.reconnect_min_ms > cc.reconnect_max_ms) {
      r.Error(t->get("reconnect_min_ms"),
              "collector.reconnect_min_ms must not exceed collector.reconnect_max_ms");
    }
  } else {
    r.Error(&root, "the [collector] table is required");
  }

  // [[input]]
  std::set<std::string> names = {"audisp"};
  if (const toml::node* n = root.get("input")) {
    const toml::array* arr = n->as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      r.Error(n, "input must be an array of tables ([[input]])");
    } else {
      for (const toml::node& el : *arr) {
        const toml::table& t = *el.as_table();
        InputConfig in;
        std::string start, kind;
        int facility = -1, severity = -1, priority = -1;
        r.String(t, "input.", "name", &in.name);
        r.Path(t, "input.", "path", &in.path);
        r.String(t, "input.", "start", &start);
        r.String(t, "input.", "kind", &kind);
        r.Choice(t, "input.", "facility", kFacilities, &facility);
        r.Choice(t, "input.", "severity", kSeverities, &severity);
        r.Path(t, "input.", "journal_dir", &in.journal_dir);
        r.StringList(t, "input.", "units", &in.units);
        r.StringList(t, "input.", "identifiers", &in.identifiers);
        r.Choice(t, "input.", "priority", kSeverities, &priority);
        r.Unknown(t, "input.");
        if (in.name.empty()) r.Error(&t, "input.name is required");
        if (!names.insert(in.name).second) {
          r.Error(t.get("name"), "input.name '" + in.name + "' is used twice (or is reserved)");
        }
        const bool journal = kind == "journal";
        if (in.path.empty() && !journal) r.Error(&t, "input.path is required");
        if (!in.path.empty() && journal) {
          r.Error(t.get("path"), "input.path is not used by kind \"journal\" (see journal_dir)");
        }
        for (const char* key : {"journal_dir", "units", "identifiers", "priority"}) {
          if (!journal && t.contains(key)) {
            r.Error(t.get(key), std::string("input.") + key + " needs kind = \"journal\"");
          }
        }
        if (priority >= 0) in.max_priority = priority;
        if (start.empty() || start == "end") {
          in.start_at_end = true;
        } else if (start == "beginning") {
          in.start_at_end = false;
        } else {
          r.Error(t.get("start"), "input.start must be \"end\" or \"beginning\"");
        }
        if (kind.empty() || kind == "syslog") {
          in.kind = InputKind::kSyslog;
        } else if (kind == "audit") {
          in.kind = InputKind::kAudit;
          in.facility = 10;
          in.severity = 6;
        } else if (journal) {
          in.kind = InputKind::kJournal;
        } else {
          r.Error(t.get("kind"), "input.kind must be \"syslog\", \"audit\" or \"journal\"");
        }
        if (facility >= 0) in.facility = facility;
        if (severity >= 0) in.severity = severity;
        c.inputs.push_back(std::move(in));
      }
    }
  }

  // [audisp]
  if (const toml::node* n = root.get("audisp")) {
    if (const toml::table* t = n->as_table()) {
      r.Path(*t, "audisp.", "socket", &c.audisp.socket);
      r.Choice(*t, "audisp.", "facility", kFacilities, &c.audisp.facility);
      r.Choice(*t, "audisp.", "severity", kSeverities, &c.audisp.severity);
      r.Unknown(*t, "audisp.");
    } else {
      r.Error(n, "audisp must be a table");
    }
  }

  for (const auto& [k, node] : root) {
    const std::string key(k.str());
    if (key != "agent" && key != "collector" && key != "input" && key != "audisp") {
      r.Error(&node, "unknown table or key '" + key + "' (agent, collector, input, audisp)");
    }
  }
  if (c.inputs.empty() && c.audisp.socket.empty()) {
    r.Error(&root, "nothing to forward: add an [[input]] or [audisp] socket");
  }

  if (!r.ok()) return Status::InvalidArgument(r.ErrorText());
  return c;
}

}  // namespace trailkeep::agent
