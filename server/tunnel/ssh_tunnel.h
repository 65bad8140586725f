// SshTunnel: one reverse SSH tunnel and its reconnect schedule (see
// tunnel_manager.h for the contract). Internal to server/tunnel/.
//
// States: connecting (resolve, TCP connect, handshake, host key, auth,
// forward request; one deadline for all) -> up (pump: accept channels, move
// bytes, keepalive, liveness) -> retrying (backoff timer) -> connecting ...
// Every step is a non-blocking libssh2 call retried when the session socket
// is ready in the direction libssh2 asks for (block directions). All
// channels share the socket, so each wake-up pumps every channel.
//
// Concurrency: everything runs on the tunnel's strand; Status() is
// thread-safe. Handlers of a torn-down session are ignored (generation).
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "common/base/clock.h"
#include "server/net/byte_stream.h"
#include "server/selfaudit/self_audit.h"
#include "server/tunnel/libssh2_handles.h"
#include "server/tunnel/tunnel_channel.h"
#include "server/tunnel/tunnel_config.h"
#include "server/tunnel/tunnel_counters.h"
#include "server/tunnel/tunnel_manager.h"

namespace trailkeep {

// Where a tunnel's channels go: handed to `serve` in process, with
// `identity`, or (no serve) relayed over TCP to `relay_to`.
struct ChannelDelivery {
  ServeChannel serve;
  ChannelIdentity identity;
  boost::asio::ip::tcp::endpoint relay_to;
};

class SshTunnel : public std::enable_shared_from_this<SshTunnel> {
 public:
  // `clock` times liveness, backoff resets and repeated failures (the
  // timers that wake the tunnel are Asio's), and the status' times.
  SshTunnel(boost::asio::io_context& io, TunnelConfig config, ChannelDelivery delivery,
            SelfAudit* audit, ClockPtr clock = MakeSystemClock());
  ~SshTunnel();

  void Start();
  void Stop();
  TunnelStatus Status() const;

 private:
  enum class Phase { kIdle, kConnecting, kHandshake, kAuth, kForward, kUp, kRetrying, kStopped };
  enum class Failure { kTransport, kSsh };

  void Connect();
  void OnConnected();
  void Pump();
  bool Step();  // one setup step; false when waiting or failed
  void PumpUp();
  void ArmWait();
  void AckInboundNow();  // TCP_QUICKACK on the session socket (see the .cc)
  void Tick();
  void OnUp(int bound_port);
  void AddChannel(LIBSSH2_CHANNEL* channel);
  // A pump soon, on the strand, not inside the caller (a channel's session).
  void SchedulePump();
  void Fail(Failure kind, const std::string& reason);
  void Teardown();
  using Fields = std::vector<std::pair<std::string, std::string>>;
  std::chrono::milliseconds NextRetryDelay();
  void ScheduleRetry(std::chrono::milliseconds delay);
  // `extra` joins tunnel, ssh_endpoint and remote_bind in the event's
  // structured data; the store derives HostState.tunnel from them.
  void Record(SelfEventKind kind, const std::string& message, const Fields& extra);
  std::string LastSshError() const;
  const char* PhaseName() const;
  void SetState(const char* state);
  template <typename F>
  auto Guard(F f);  // binds f to the strand and drops it for older sessions

  const TunnelConfig config_;
  const std::string endpoint_;  // "user@host:port"
  std::string bind_host_;
  uint16_t bind_port_ = 0;
  const ChannelDelivery delivery_;
  SelfAudit* audit_;
  const ClockPtr clock_;

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer deadline_;
  boost::asio::steady_timer tick_;
  boost::asio::steady_timer retry_;
  SshSessionPtr session_;
  LIBSSH2_LISTENER* listener_ = nullptr;  // freed with the session
  std::list<std::shared_ptr<TunnelChannel>> channels_;
  bool pump_scheduled_ = false;
  Phase phase_ = Phase::kIdle;
  uint64_t generation_ = 0;
  bool read_waiting_ = false;
  bool write_waiting_ = false;
  Clock::SteadyTime last_inbound_;
  Clock::SteadyTime up_since_;
  uint64_t last_bytes_from_node_ = 0;
  uint32_t failures_ = 0;
  std::string last_recorded_reason_;
  Clock::SteadyTime last_recorded_at_;
  std::mt19937 rng_;
  std::shared_ptr<TunnelCounters> counters_;

  mutable std::mutex status_mu_;
  TunnelStatus status_;  // GUARDED_BY(status_mu_), counters filled in by Status()
};

}  // namespace trailkeep
