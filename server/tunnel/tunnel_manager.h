// TunnelManager: the collector's reverse SSH tunnels ([[tunnel]] tables,
// docs/tunnels.md). For each node it connects to sshd with libssh2, verifies
// the host key against known_hosts (unknown or changed: refused, never
// continued), authenticates with the key, asks sshd to listen on the remote
// bind address (default 127.0.0.1:60) and hands every forwarded channel, as
// an in-process byte stream naming the tunnel's node, to the collector's
// port-60 protocol step (ssh_channel_stream.h); a forward_to naming another
// address gets a TCP relay instead (channel_bridge.h). Lost or refused
// tunnels are retried with exponential backoff and jitter.
//
// Everything runs on the io_context, libssh2 non-blocking: no thread is
// blocked per tunnel. Tunnel events are recorded as collector events
// (TUNNEL_INITIATED / TUNNEL_TERMINATED / TUNNEL_FAILED for FTP_ITC.1,
// SSH_SESSION_FAILED for FCS_SSHS_EXT.1).
//
// Concurrency: Start/Stop from any thread; Status() is thread-safe.
// Lifetime: `audit` and what `serve` reaches must outlive the io_context's
// handlers (declare them before the io_context).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "server/tunnel/tunnel_config.h"

namespace boost::asio {
class io_context;
}

namespace trailkeep {

class ByteStream;
class SelfAudit;
struct ChannelIdentity;
class SshTunnel;

struct TunnelStatus {
  std::string name;
  std::string endpoint;     // "user@host:port"
  std::string remote_bind;  // as requested
  std::string state;        // "connecting", "up", "retrying", "stopped"
  int64_t up_since_us = 0;  // 0 unless up
  std::string last_error;
  int64_t last_error_us = 0;
  uint32_t consecutive_failures = 0;
  int64_t next_attempt_us = 0;  // when retrying
  uint64_t sessions = 0;        // sessions that reached "up" since start
  uint64_t channels_open = 0;
  uint64_t channels_total = 0;
  uint64_t channels_failed = 0;
  uint64_t bytes_from_node = 0;
  uint64_t bytes_to_node = 0;
};

// Serves one channel in process (the port-60 listener's protocol step); runs
// on the tunnel's strand, which the stream's handlers use.
using ServeChannel = std::function<void(std::unique_ptr<ByteStream>, const ChannelIdentity&)>;

class TunnelManager {
 public:
  // `audit_listeners`: the bound addresses of the collector's port-60
  // listeners. A tunnel without forward_to, or whose forward_to names one of
  // them, has its channels served by `serve` as if accepted there (the first
  // one without forward_to); any other forward_to gets a TCP relay. Throws
  // std::invalid_argument at start-up when a tunnel has nowhere to deliver.
  TunnelManager(boost::asio::io_context& io, std::vector<TunnelConfig> tunnels,
                const std::vector<std::string>& audit_listeners, ServeChannel serve,
                SelfAudit* audit, ClockPtr clock = MakeSystemClock());
  ~TunnelManager();
  TunnelManager(const TunnelManager&) = delete;
  TunnelManager& operator=(const TunnelManager&) = delete;

  void Start();
  // Closes every tunnel (recorded as terminated) and stops retrying.
  void Stop();
  std::vector<TunnelStatus> Status() const;
  size_t size() const { return tunnels_.size(); }

 private:
  std::vector<std::shared_ptr<SshTunnel>> tunnels_;
};

// "0.0.0.0:60" -> "127.0.0.1:60", "[::]:60" -> "[::1]:60": a wildcard
// listener is reached over loopback.
std::string LoopbackForListener(const std::string& listen_address);

}  // namespace trailkeep
