// TunnelChannel: one forwarded channel of a reverse SSH tunnel, as the tunnel
// pumps it: served in process (ssh_channel_stream.h) or relayed to another
// TCP address (channel_bridge.h).
//
// Internal to server/tunnel/ (includes libssh2).
// Concurrency: every method on the tunnel's strand.
#pragma once

#include <string>

#include <libssh2.h>

namespace trailkeep {

class TunnelChannel {
 public:
  enum class PumpResult { kOpen, kDone, kSessionError };

  virtual ~TunnelChannel() = default;
  // Moves what it can without blocking. kDone: the channel is freed and can
  // be dropped. kSessionError: the SSH transport failed.
  virtual PumpResult Pump() = 0;
  // The session is going away (it frees the channel itself): stop, without
  // touching the channel.
  virtual void Abandon() = 0;
  virtual const std::string& last_error() const = 0;
};

// Frees *channel, sending EOF and CLOSE first: kOpen while libssh2 needs
// another try (EAGAIN), kDone once freed (*channel is then null).
inline TunnelChannel::PumpResult FreeChannel(LIBSSH2_CHANNEL** channel) {
  if (*channel == nullptr) return TunnelChannel::PumpResult::kDone;
  if (libssh2_channel_free(*channel) == LIBSSH2_ERROR_EAGAIN) {
    return TunnelChannel::PumpResult::kOpen;
  }
  *channel = nullptr;
  return TunnelChannel::PumpResult::kDone;
}

// Errors of the shared SSH transport, as opposed to one channel's own state.
inline bool IsSshSessionError(ssize_t rc) {
  return rc == LIBSSH2_ERROR_SOCKET_SEND || rc == LIBSSH2_ERROR_SOCKET_RECV ||
         rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT ||
         rc == LIBSSH2_ERROR_TIMEOUT;
}

}  // namespace trailkeep
