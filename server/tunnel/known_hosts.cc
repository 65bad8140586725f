#include "server/tunnel/known_hosts.h"

#include <fstream>
#include <sstream>

#include <openssl/evp.h>

#include "server/tunnel/libssh2_handles.h"

namespace trailkeep {
namespace {

struct KeyKind {
  const char* name;
  int knownhost_bits;  // LIBSSH2_KNOWNHOST_KEY_*
};

KeyKind KindOf(int hostkey_type) {
  switch (hostkey_type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA:
      return {"ssh-rsa", LIBSSH2_KNOWNHOST_KEY_SSHRSA};
    case LIBSSH2_HOSTKEY_TYPE_DSS:
      return {"ssh-dss", LIBSSH2_KNOWNHOST_KEY_SSHDSS};
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
      return {"ecdsa-sha2-nistp256", LIBSSH2_KNOWNHOST_KEY_ECDSA_256};
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
      return {"ecdsa-sha2-nistp384", LIBSSH2_KNOWNHOST_KEY_ECDSA_384};
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
      return {"ecdsa-sha2-nistp521", LIBSSH2_KNOWNHOST_KEY_ECDSA_521};
    case LIBSSH2_HOSTKEY_TYPE_ED25519:
      return {"ssh-ed25519", LIBSSH2_KNOWNHOST_KEY_ED25519};
    default:
      return {"unknown", 0};
  }
}

}  // namespace

HostKeyCheck CheckHostKey(LIBSSH2_SESSION* session, const std::string& known_hosts_file,
                          const std::string& host, uint16_t port) {
  HostKeyCheck out;
  size_t len = 0;
  int type = 0;
  const char* key = libssh2_session_hostkey(session, &len, &type);
  if (key == nullptr) {
    out.message = "the server presented no host key";
    return out;
  }
  const KeyKind kind = KindOf(type);
  out.key_type = kind.name;
  out.fingerprint = SshKeyFingerprint(std::string_view(key, len));
  if (kind.knownhost_bits == 0) {
    out.message = "unsupported host key type " + std::to_string(type);
    return out;
  }
  KnownHostsPtr kh(libssh2_knownhost_init(session));
  if (!kh) {
    out.message = "cannot allocate the known-hosts list";
    return out;
  }
  // libssh2 stops at the first line it cannot parse: a dedicated file
  // (ssh-keyscan output) is expected, as docs/tunnels.md says.
  const int n = libssh2_knownhost_readfile(kh.get(), known_hosts_file.c_str(),
                                           LIBSSH2_KNOWNHOST_FILE_OPENSSH);
  if (n < 0) {
    out.message = "cannot read known_hosts file " + known_hosts_file + " (libssh2 error " +
                  std::to_string(n) + ")";
    return out;
  }
  // Passing the key type makes an entry of another type not count, so a
  // node listed only with its Ed25519 key is "not found" for ECDSA, not a
  // false "changed" alarm.
  struct libssh2_knownhost* entry = nullptr;
  const int rc = libssh2_knownhost_checkp(
      kh.get(), host.c_str(), port, key, len,
      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | kind.knownhost_bits, &entry);
  const std::string who = "[" + host + "]:" + std::to_string(port);
  const std::string what = out.key_type + " key " + out.fingerprint;
  switch (rc) {
    case LIBSSH2_KNOWNHOST_CHECK_MATCH:
      out.verdict = HostKeyVerdict::kMatch;
      out.message = "host key of " + who + " verified: " + what;
      break;
    case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
      out.verdict = HostKeyVerdict::kMismatch;
      out.message = "HOST KEY CHANGED for " + who + ": presented " + what + " does not match " +
                    known_hosts_file + " (possible man-in-the-middle); refused";
      break;
    case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
      out.verdict = HostKeyVerdict::kNotFound;
      out.message = "host key of " + who + " not in " + known_hosts_file + " (presented " + what +
                    "); refused (add it with ssh-keyscan -p " + std::to_string(port) +
                    " -t ecdsa,ed25519 " + host + ")";
      break;
    default:
      out.verdict = HostKeyVerdict::kFailure;
      out.message = "host key check of " + who + " failed";
      break;
  }
  return out;
}

std::string SshKeyFingerprint(std::string_view key_blob) {
  const char* key = key_blob.data();
  const size_t len = key_blob.size();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(key, len, md, &md_len, EVP_sha256(), nullptr) != 1) return "";
  std::string b64(4 * ((md_len + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), md, static_cast<int>(md_len));
  b64.resize(static_cast<size_t>(n));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "SHA256:" + b64;
}

std::string KnownHostsFingerprints(const std::string& known_hosts_file) {
  std::ifstream in(known_hosts_file);
  if (!in) return "";
  std::string out, line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string first, hosts, type, b64;
    if (!(words >> first) || first[0] == '#') continue;
    if (first[0] == '@') {  // @cert-authority, @revoked: the marker, then the hosts
      if (!(words >> hosts)) continue;
    }
    if (!(words >> type >> b64)) continue;
    std::string blob(3 * (b64.size() / 4) + 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(blob.data()),
                                  reinterpret_cast<const unsigned char*>(b64.data()),
                                  static_cast<int>(b64.size()));
    if (n < 0) continue;
    // EVP_DecodeBlock counts the padding's zero bytes: take them off again.
    size_t len = static_cast<size_t>(n);
    for (size_t i = b64.size(); i > 0 && b64[i - 1] == '='; --i) --len;
    blob.resize(len);
    out += (out.empty() ? "" : ",") + SshKeyFingerprint(blob);
  }
  return out;
}

}  // namespace trailkeep
