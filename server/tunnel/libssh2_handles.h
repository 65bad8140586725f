// RAII for libssh2 handles, internal to server/tunnel/ (it includes
// libssh2.h; never include it from a widely used header).
//
// Sessions are freed by SshSessionDeleter, which first makes every pending
// send fail at once (shutdown of the socket) so that a non-blocking free does
// not stop half-way on EAGAIN; the session frees its channels and listeners.
#pragma once

#include <memory>

#include <libssh2.h>
#include <sys/socket.h>

namespace trailkeep {

// libssh2_init once per process, before the first session (thread-safe).
void InitLibssh2Once();

struct SshSessionDeleter {
  int fd = -1;  // the socket the session talks over, shut down before the free
  void operator()(LIBSSH2_SESSION* s) const {
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
    // With the socket shut down, blocking mode cannot wait: every send fails
    // and every receive sees EOF, so the free completes now.
    libssh2_session_set_blocking(s, 1);
    libssh2_session_free(s);
  }
};
using SshSessionPtr = std::unique_ptr<LIBSSH2_SESSION, SshSessionDeleter>;

struct KnownHostsDeleter {
  void operator()(LIBSSH2_KNOWNHOSTS* kh) const { libssh2_knownhost_free(kh); }
};
using KnownHostsPtr = std::unique_ptr<LIBSSH2_KNOWNHOSTS, KnownHostsDeleter>;

}  // namespace trailkeep
