#include "server/tunnel/libssh2_handles.h"

#include <mutex>

namespace trailkeep {

void InitLibssh2Once() {
  // libssh2_init is not thread-safe and must precede every other call; the
  // process never calls libssh2_exit (sessions may outlive any owner).
  static std::once_flag once;
  std::call_once(once, [] { libssh2_init(0); });
}

}  // namespace trailkeep
