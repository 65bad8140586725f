// Checks, at start-up, that a tunnel's private key is of a type libssh2 1.10
// can authenticate with against OpenSSH 9: Ed25519 or ECDSA. libssh2 1.10
// signs RSA keys only with "ssh-rsa" (SHA-1), which OpenSSH >= 8.8 refuses,
// so an RSA key would fail at every connection attempt instead of once here.
#pragma once

#include <string>

#include "common/base/status.h"

namespace trailkeep {

// Reads `path` (OpenSSH "BEGIN OPENSSH PRIVATE KEY" or PEM) and returns ok
// when it holds an unencrypted-or-encrypted Ed25519 or ECDSA key; otherwise
// InvalidArgument naming the type found and the reason.
Status CheckTunnelKeyFile(const std::string& path);

}  // namespace trailkeep
