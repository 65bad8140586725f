#include "server/app/enroll.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base/private_file.h"
#include "common/wire/hmac_chain.h"
#include "common/wire/key_folder.h"
#include "server/app/config.h"
#include "server/app/dev_pki.h"
#include "server/app/privileges.h"

namespace trailkeep {
namespace {

namespace fs = std::filesystem;

// Thrown for a one-line refusal or failure; RunEnroll prints it.
struct EnrollError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string ReadFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw EnrollError("cannot read the " + what + " " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `text` to `path` with `mode` via a temporary file and rename, so a
// reader sees the old file or the whole new one; owned by `owner` when given
// (the collector's service user: it reads the key after start-up, as itself).
void WriteFileAtomic(const std::string& path, const std::string& text, mode_t mode,
                     const ServiceUser* owner = nullptr) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) throw EnrollError("cannot create " + tmp + ": " + std::strerror(errno));
  const bool ok = ::fchmod(fd, mode) == 0 &&
                  (owner == nullptr || ::fchown(fd, owner->uid, owner->gid) == 0) &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    throw EnrollError("cannot write " + tmp + ": " + std::strerror(saved));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw EnrollError("cannot rename " + tmp + " to " + path + ": " + std::strerror(err));
  }
}

// A fresh HMAC key file (WriteNewHmacKey) at `path`, replacing any; returns
// its text.
std::string NewHmacKeyFile(const std::string& path) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  Status s = WriteNewHmacKey(tmp);
  if (!s.ok()) throw EnrollError(s.message());
  auto key = LoadHmacKey(tmp);
  if (!key.ok()) throw EnrollError(key.status().message());
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    throw EnrollError("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  }
  return LowerHex(key.value()) + "\n";
}

// Creates `dir` mode 0700, owned by `owner` when given; an existing one is
// left as it is.
void MakePrivateDir(const std::string& dir, const ServiceUser* owner) {
  std::error_code ec;
  if (fs::exists(dir, ec)) return;
  fs::create_directories(dir, ec);
  if (ec) throw EnrollError("cannot create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  if (owner != nullptr && ::chown(dir.c_str(), owner->uid, owner->gid) != 0) {
    throw EnrollError("cannot chown " + dir + " to " + owner->user + ": " + std::strerror(errno));
  }
}

// The installed key of an enrolled host (raw bytes).
std::string InstalledKey(const std::string& path) {
  auto key = LoadHmacKey(path);
  if (!key.ok()) throw EnrollError(key.status().message());
  return std::move(key).value();
}

std::string KeyFileText(const std::string& raw) { return LowerHex(raw) + "\n"; }

std::string TomlString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// The address agents dial: the first syslog listener, with a wildcard
// address replaced by the collector's name.
std::string CollectorAddress(const ServerConfig& c) {
  if (c.syslog.addresses.empty()) return c.collector_name + ":6514";
  const std::string& a = c.syslog.addresses.front();
  const size_t colon = a.rfind(':');
  if (colon == std::string::npos) return a;
  const std::string host = a.substr(0, colon);
  if (host == "0.0.0.0" || host == "[::]" || host == "::" || host.empty()) {
    return c.collector_name + a.substr(colon);
  }
  return a;
}

ServerConfig LoadCollectorConfig(const EnrollOptions& o) {
  if (!o.dev_dir.empty()) {
    try {
      return MakeDevConfig(o.dev_dir);
    } catch (const std::exception& e) {
      throw EnrollError(std::string("development mode: ") + e.what());
    }
  }
  if (o.config_file.empty()) {
    throw EnrollError("give the collector's --config FILE (or --dev DIR)");
  }
  ServerConfig c;
  auto errors = LoadConfig(o.config_file, &c);
  if (!errors.empty()) {
    throw EnrollError(errors.front().ToString() +
                      (errors.size() > 1 ? " (and " + std::to_string(errors.size() - 1) +
                                               " more; see trailkeepd --check-config)"
                                         : ""));
  }
  return c;
}

// Whom the installed key must belong to: the collector's [server] user, which
// reads it after start-up. Null when the key may stay with the caller: no
// service user, or enroll runs as that user. Run as anyone else, enroll could
// not hand the key over, so it refuses before writing anything.
std::optional<ServiceUser> KeyOwner(const ServerConfig& c, const std::string& source) {
  auto resolved = ResolveServiceUser(c.user, c.group);
  if (!resolved.ok()) throw EnrollError(source + ": " + resolved.status().message());
  const ServiceUser& owner = resolved.value();
  if (!owner.configured || ::geteuid() == owner.uid) return std::nullopt;
  if (::geteuid() != 0) {
    throw EnrollError("the collector runs as " + owner.user + " ([server] user in " + source +
                      "), which must own " + c.keys_dir + "/HOST.key: run enroll as root or as " +
                      owner.user);
  }
  return owner;
}

// The bundle's file names are deploy/agent.toml's, and agent.toml names them
// relative to its own folder (as the agent resolves relative paths), so the
// folder copied as it is to the node's /etc/trailkeep works unchanged.
constexpr const char* kAgentKey = "agent.key";
constexpr const char* kAgentCert = "agent.pem";
constexpr const char* kCaCert = "ca.pem";
constexpr const char* kHmacKey = "hmac.key";
constexpr const char* kAgentConfig = "agent.toml";
const char* const kOutFiles[] = {kAgentKey, kAgentCert, kCaCert, kHmacKey, kAgentConfig};

// agent.toml of the bundle: the node's identity and the collector's address,
// the bundle's files by relative name, and one commented-out input to adapt.
std::string AgentConfigText(const std::string& host, const std::string& collector_address) {
  std::ostringstream toml;
  toml << "# trailkeep agent for " << host << ", written by trailkeepd enroll.\n"
       << "# Paths are relative to this file's folder; every key: deploy/agent.toml.\n"
       << "[agent]\n"
       << "host = " << TomlString(host) << "\n"
       << "spool_dir = \"/var/lib/trailkeep-agent/spool\"\n"
       << "hmac_key_file = " << TomlString(kHmacKey) << "\n"
       << "\n[collector]\n"
       << "address = " << TomlString(collector_address) << "\n"
       << "ca_file = " << TomlString(kCaCert) << "\n"
       << "cert_file = " << TomlString(kAgentCert) << "\n"
       << "key_file = " << TomlString(kAgentKey) << "\n"
       << "\n# What to read (docs/agent.md): the node's authentication log, for example.\n"
       << "[[input]]\n"
       << "name = \"auth\"\n"
       << "path = \"/var/log/auth.log\"\n"
       << "kind = \"syslog\"\n"
       << "facility = \"authpriv\"\n"
       << "severity = \"info\"\n";
  return toml.str();
}

void Enroll(const EnrollOptions& o) {
  if (!IsValidDnsName(o.host)) {
    throw EnrollError("'" + o.host +
                      "' is not a DNS host name (letters, digits, hyphens and dots; labels of "
                      "1-63 characters not starting or ending with a hyphen)");
  }
  if (o.days < 1 || o.days > 36500) throw EnrollError("--days must be between 1 and 36500");
  if (o.out_dir.empty()) throw EnrollError("give --out DIR");
  const ServerConfig c = LoadCollectorConfig(o);
  const std::string source = c.source.empty() ? o.config_file : c.source;
  if (c.enroll_ca_cert.empty() || c.enroll_ca_key.empty()) {
    throw EnrollError(source + " sets no [agents] enroll_ca_cert and enroll_ca_key to sign with");
  }
  if (c.keys_dir.empty()) {
    throw EnrollError(source + " sets no [agents] keys_dir to install the HMAC key in");
  }
  const std::optional<ServiceUser> owner = KeyOwner(c, source);
  const ServiceUser* key_owner = owner ? &*owner : nullptr;

  const std::string installed = (fs::path(c.keys_dir) / (o.host + ".key")).string();
  std::error_code ec;
  const bool replacing = fs::exists(fs::symlink_status(installed, ec));
  if (replacing && !o.force) {
    throw EnrollError(o.host + " is already enrolled (" + installed +
                      " exists); --force renews its certificate and keeps its HMAC key, "
                      "--rotate gives it a new HMAC key");
  }
  // Re-enrolment keeps the chain: the bundle carries the installed key.
  const std::string kept_key = replacing ? InstalledKey(installed) : "";
  const fs::path out = fs::absolute(o.out_dir).lexically_normal();
  if (fs::exists(out, ec) && !fs::is_directory(out, ec)) {
    throw EnrollError(out.string() + " exists and is not a folder");
  }
  if (!o.force) {
    for (const char* name : kOutFiles) {
      if (fs::exists(fs::symlink_status(out / name, ec))) {
        throw EnrollError((out / name).string() + " exists; --force overwrites it");
      }
    }
  }

  const std::string ca_pem = ReadFile(c.enroll_ca_cert, "enroll CA certificate");
  const std::string ca_key_pem = ReadFile(c.enroll_ca_key, "enroll CA key");
  LeafCertSpec spec;
  spec.common_name = o.host;
  spec.subject_alt_names = "DNS:" + o.host;
  spec.extended_key_usage = "clientAuth";
  spec.days = o.days;
  PemKeyAndCert issued;
  try {
    issued = IssueLeafCertificate(ca_pem, ca_key_pem, spec);
  } catch (const std::exception& e) {
    throw EnrollError(std::string(e.what()) + " (" + c.enroll_ca_cert + ", " + c.enroll_ca_key +
                      ")");
  }

  if (::mkdir(out.c_str(), 0700) != 0 && errno != EEXIST) {
    throw EnrollError("cannot create " + out.string() + ": " + std::strerror(errno));
  }
  if (::chmod(out.c_str(), 0700) != 0) {
    throw EnrollError("cannot chmod 700 " + out.string() + ": " + std::strerror(errno));
  }
  WriteFileAtomic((out / kAgentKey).string(), issued.key_pem, 0600);
  WriteFileAtomic((out / kAgentCert).string(), issued.cert_pem, 0644);
  WriteFileAtomic((out / kCaCert).string(), ca_pem, 0644);
  std::string key_text;
  if (replacing) {
    key_text = KeyFileText(kept_key);
    WriteFileAtomic((out / kHmacKey).string(), key_text, 0600);
  } else {
    key_text = NewHmacKeyFile((out / kHmacKey).string());
  }
  WriteFileAtomic((out / kAgentConfig).string(), AgentConfigText(o.host, CollectorAddress(c)),
                  0644);

  // Last: the commit point. The collector verifies the new chain from here on.
  MakePrivateDir(c.keys_dir, key_owner);
  if (!replacing) WriteFileAtomic(installed, key_text, 0600, key_owner);

  std::cout << "enrolled " << o.host << " in " << out.string() << " (certificate valid " << o.days
            << " days)\n"
            << "  " << kAgentKey << " " << kAgentCert << " " << kCaCert << " " << kHmacKey << " "
            << kAgentConfig << "\n"
            << "  HMAC key installed as " << installed
            << (key_owner != nullptr ? " (owned by " + key_owner->user + ", mode 0600)" : "")
            << "\n";
  if (struct stat st{};
      key_owner != nullptr && ::stat(c.keys_dir.c_str(), &st) == 0 && st.st_uid != key_owner->uid) {
    std::cerr << "trailkeepd enroll: note: " << c.keys_dir << " belongs to " << UserName(st.st_uid)
              << ", not " << key_owner->user << "; the collector must be able to open it (chown "
              << key_owner->user << " " << c.keys_dir << ")\n";
  }
  if (replacing) {
    std::cout << "  kept the installed HMAC key (id " << KeyId(kept_key) << "): the "
              << "agent's chain goes on; replace its agent.pem and agent.key\n";
  }
  std::cout << "Copy the folder's files to " << o.host
            << ":/etc/trailkeep/ (keep the modes) and run: trailkeep forward --config "
               "/etc/trailkeep/agent.toml\n";
  if (!c.syslog.tls.cert_file.empty()) {
    std::ifstream server(c.syslog.tls.cert_file, std::ios::binary);
    std::stringstream ss;
    ss << server.rdbuf();
    if (server && !CertificateSignedBy(ss.str(), ca_pem)) {
      std::cerr << "trailkeepd enroll: note: the collector's certificate " << c.syslog.tls.cert_file
                << " is not signed by the enroll CA; put the CA that signed it in " << kCaCert
                << "\n";
    }
  }
}

// --rotate: keeps the current key as retired, installs a fresh one and
// writes it as DIR/hmac.key. The order keeps every key the collector may
// still need on disk at every instant: the retired copy before the new
// current key (and the bundle before either, so a failure leaves the
// collector as it was).
void Rotate(const EnrollOptions& o) {
  if (!IsValidDnsName(o.host)) throw EnrollError("'" + o.host + "' is not a DNS host name");
  if (o.out_dir.empty()) throw EnrollError("give --out DIR");
  const ServerConfig c = LoadCollectorConfig(o);
  const std::string source = c.source.empty() ? o.config_file : c.source;
  if (c.keys_dir.empty()) throw EnrollError(source + " sets no [agents] keys_dir");
  const std::optional<ServiceUser> owner = KeyOwner(c, source);
  const ServiceUser* key_owner = owner ? &*owner : nullptr;
  const std::string installed = CurrentKeyPath(c.keys_dir, o.host);
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(installed, ec))) {
    throw EnrollError(o.host + " is not enrolled (" + installed +
                      " does not exist): enrol it first, without --rotate");
  }
  const std::string old_key = InstalledKey(installed);
  const std::string old_id = KeyId(old_key);
  const fs::path out = fs::absolute(o.out_dir).lexically_normal();
  if (!o.force && fs::exists(fs::symlink_status(out / kHmacKey, ec))) {
    throw EnrollError((out / kHmacKey).string() + " exists; --force overwrites it");
  }
  if (::mkdir(out.c_str(), 0700) != 0 && errno != EEXIST) {
    throw EnrollError("cannot create " + out.string() + ": " + std::strerror(errno));
  }
  ::unlink((out / kHmacKey).c_str());
  const std::string new_text = NewHmacKeyFile((out / kHmacKey).string());
  const std::string new_id = KeyId(InstalledKey((out / kHmacKey).string()));

  MakePrivateDir(RetiredKeyDir(c.keys_dir, o.host), key_owner);
  const std::string retired = RetiredKeyPath(c.keys_dir, o.host, old_id);
  WriteFileAtomic(retired, KeyFileText(old_key), 0600, key_owner);
  WriteFileAtomic(installed, new_text, 0600, key_owner);

  std::cout << "rotated the HMAC key of " << o.host << ": key " << new_id << " replaces " << old_id
            << "\n"
            << "  new key installed as " << installed << ", the old one kept as " << retired
            << (key_owner != nullptr ? " (owned by " + key_owner->user + ", mode 0600)" : "")
            << "\n"
            << "  " << (out / kHmacKey).string() << " is the node's new key\n"
            << "Copy it to " << o.host
            << ":/etc/trailkeep/hmac.key (mode 0600, owned by the agent's user) and send the agent "
               "SIGHUP (systemctl reload trailkeep-forward): it switches at its next event\n";
}

}  // namespace

bool IsValidDnsName(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  char prev = '.';
  for (char c : name) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else {
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok || (label == 0 && c == '-') || ++label > 63) return false;
    }
    prev = c;
  }
  return label != 0 && prev != '-';
}

int RunEnroll(const EnrollOptions& options) {
  try {
    if (options.rotate) {
      Rotate(options);
    } else {
      Enroll(options);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "trailkeepd enroll: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace trailkeep
