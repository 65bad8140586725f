// Host key verification of a tunnel's SSH session against a known_hosts file
// (OpenSSH format, entries "[host]:port" or "host", hashed names allowed).
// No trust on first use: an unknown or changed key refuses the session.
// Internal to server/tunnel/ (takes a libssh2 session).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <libssh2.h>

namespace trailkeep {

enum class HostKeyVerdict { kMatch, kMismatch, kNotFound, kFailure };

struct HostKeyCheck {
  HostKeyVerdict verdict = HostKeyVerdict::kFailure;
  std::string key_type;     // "ecdsa-sha2-nistp256", "ssh-ed25519", ...
  std::string fingerprint;  // "SHA256:..." as ssh-keygen -l shows it
  std::string message;      // why, for the log and the collector event
};

// Checks the key the server presented during the handshake (call after
// libssh2_session_handshake succeeded). Never blocks.
HostKeyCheck CheckHostKey(LIBSSH2_SESSION* session, const std::string& known_hosts_file,
                          const std::string& host, uint16_t port);

// "SHA256:<unpadded base64>" of an SSH public key blob, the form
// ssh-keygen -l and sshd logs print.
std::string SshKeyFingerprint(std::string_view key_blob);

// The fingerprints of every key in a known_hosts file, in file order and
// comma-separated (what start-up and SIGHUP record of each tunnel's trust
// anchor); "" when the file cannot be read or holds no key.
std::string KnownHostsFingerprints(const std::string& known_hosts_file);

}  // namespace trailkeep
