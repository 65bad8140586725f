// Checks, at start-up, that a tunnel's private key is of a type libssh2 1.10
// can authenticate with against OpenSSH 9: Ed25519 or ECDSA. libssh2 1.10
// signs RSA keys only with "ssh-rsa" (SHA-1), which OpenSSH >= 8.8 refuses,
// so an RSA key would fail at every connection attempt instead of once here.
// The key is read again at every (re)connection, after trailkeepd dropped its
// privileges: it must be private (mode 0600) and readable by the service user.
#pragma once

#include <string>

#include "common/base/status.h"

namespace trailkeep {

// Reads `path` (OpenSSH "BEGIN OPENSSH PRIVATE KEY" or PEM) and returns ok
// when it holds an unencrypted-or-encrypted Ed25519 or ECDSA key; otherwise
// InvalidArgument naming the type found and the reason.
Status CheckTunnelKeyFile(const std::string& path);

// The key file's bytes (ReadPrivateFile): a missing, unreadable ("cannot read
// PATH: Permission denied") or group/other-accessible key is InvalidArgument
// naming the file. A failed authentication asks this for the real reason.
Result<std::string> ReadTunnelKey(const std::string& path);

}  // namespace trailkeep
