#include "server/tunnel/ssh_tunnel.h"

#include <algorithm>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "common/base/endpoint.h"
#include "server/tunnel/channel_bridge.h"
#include "server/tunnel/key_file.h"
#include "server/tunnel/known_hosts.h"
#include "server/tunnel/ssh_channel_stream.h"

namespace trailkeep {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// Channels sshd may queue before forward_accept takes them; beyond it libssh2
// refuses new ones (the node's sender retries).
constexpr int kListenQueue = 64;
// A tunnel that stayed up this long starts its next backoff from the bottom.
constexpr auto kStableUp = std::chrono::seconds(60);
// A failure repeating with the same reason is recorded again only after this
// long (it is logged every time): a node down for a week is not 10,000 events.
constexpr auto kRepeatEventEvery = std::chrono::minutes(10);

int64_t MicrosFrom(int64_t now_us, std::chrono::milliseconds d) {
  return now_us + std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

std::string FormatDuration(std::chrono::steady_clock::duration d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min";
  return std::to_string(s / 3600) + " h";
}

}  // namespace

SshTunnel::SshTunnel(net::io_context& io, TunnelConfig config, ChannelDelivery delivery,
                     SelfAudit* audit, ClockPtr clock)
    : config_(std::move(config)),
      endpoint_(config_.user + "@" + config_.host + ":" + std::to_string(config_.port)),
      delivery_(std::move(delivery)),
      audit_(audit),
      clock_(std::move(clock)),
      strand_(net::make_strand(io)),
      resolver_(strand_),
      socket_(strand_),
      deadline_(strand_),
      tick_(strand_),
      retry_(strand_),
      rng_(std::random_device{}()),
      counters_(std::make_shared<TunnelCounters>()) {
  unsigned short port = 0;
  SplitHostPort(config_.remote_bind, &bind_host_, &port);  // validated by the config loader
  bind_port_ = port;
  status_.name = config_.name;
  status_.endpoint = endpoint_;
  status_.remote_bind = config_.remote_bind;
  status_.state = "stopped";
}

SshTunnel::~SshTunnel() {
  for (auto& c : channels_) c->Abandon();
  session_.reset();
}

template <typename F>
auto SshTunnel::Guard(F f) {
  return net::bind_executor(
      strand_, [self = shared_from_this(), gen = generation_, f = std::move(f)](auto&&... args) {
        if (gen != self->generation_) return;  // a handler of a torn-down session
        f(std::forward<decltype(args)>(args)...);
      });
}

void SshTunnel::Start() {
  net::post(strand_, [self = shared_from_this()] {
    if (self->phase_ == Phase::kIdle) self->Connect();
  });
}

void SshTunnel::Stop() {
  net::post(strand_, [self = shared_from_this()] {
    if (self->phase_ == Phase::kUp) {
      self->Record(SelfEventKind::kTunnelTerminated,
                   "tunnel " + self->config_.name + " to " + self->endpoint_ +
                       " closed: collector stopping (up " +
                       FormatDuration(self->clock_->SteadyNow() - self->up_since_) + ")",
                   {{"state", "stopped"}});
    }
    self->Teardown();
    self->retry_.cancel();
    self->phase_ = Phase::kStopped;
    self->SetState("stopped");
  });
}

TunnelStatus SshTunnel::Status() const {
  std::lock_guard lock(status_mu_);
  TunnelStatus s = status_;
  s.channels_open = counters_->channels_open;
  s.channels_total = counters_->channels_total;
  s.channels_failed = counters_->channels_failed;
  s.bytes_from_node = counters_->bytes_from_node;
  s.bytes_to_node = counters_->bytes_to_node;
  return s;
}

void SshTunnel::SetState(const char* state) {
  std::lock_guard lock(status_mu_);
  status_.state = state;
}

void SshTunnel::Connect() {
  phase_ = Phase::kConnecting;
  SetState("connecting");
  // One deadline from DNS to the granted forward: a node that accepts TCP but
  // never answers must not hold the tunnel forever.
  deadline_.expires_after(std::chrono::seconds(config_.connect_timeout_seconds));
  deadline_.async_wait(Guard([this](const boost::system::error_code& ec) {
    if (ec || phase_ == Phase::kUp) return;
    Fail(Failure::kTransport, std::string("timed out while ") + PhaseName());
  }));
  resolver_.async_resolve(
      config_.host, std::to_string(config_.port),
      Guard([this](const boost::system::error_code& ec, const tcp::resolver::results_type& r) {
        if (ec)
          return Fail(Failure::kTransport, "cannot resolve " + config_.host + ": " + ec.message());
        net::async_connect(
            socket_, r, Guard([this](const boost::system::error_code& err, const tcp::endpoint&) {
              if (err) {
                return Fail(Failure::kTransport,
                            "cannot connect to " + endpoint_ + ": " + err.message());
              }
              OnConnected();
            }));
      }));
}

void SshTunnel::OnConnected() {
  InitLibssh2Once();
  LIBSSH2_SESSION* s = libssh2_session_init_ex(nullptr, nullptr, nullptr, nullptr);
  if (s == nullptr) return Fail(Failure::kSsh, "cannot allocate an SSH session");
  session_ = SshSessionPtr(s, SshSessionDeleter{socket_.native_handle()});
  libssh2_session_set_blocking(s, 0);
  // want_reply = 1: OpenSSH answers every keepalive, so a live peer always
  // sends something within the interval and the liveness timer can tell.
  libssh2_keepalive_config(s, 1, static_cast<unsigned>(config_.keepalive_seconds));
  last_inbound_ = clock_->SteadyNow();
  phase_ = Phase::kHandshake;
  Pump();
}

void SshTunnel::Pump() {
  if (!session_) return;
  while (phase_ != Phase::kUp) {
    if (!Step()) return;
  }
  PumpUp();
}

bool SshTunnel::Step() {
  LIBSSH2_SESSION* s = session_.get();
  switch (phase_) {
    case Phase::kHandshake: {
      const int rc = libssh2_session_handshake(s, socket_.native_handle());
      if (rc == LIBSSH2_ERROR_EAGAIN) break;
      if (rc != 0) {
        Fail(Failure::kSsh, "SSH handshake with " + endpoint_ + " failed: " + LastSshError());
        return false;
      }
      const HostKeyCheck check =
          CheckHostKey(s, config_.known_hosts_file, config_.host, config_.port);
      if (check.verdict != HostKeyVerdict::kMatch) {
        Fail(Failure::kSsh, check.message);
        return false;
      }
      spdlog::info("tunnel {}: {}", config_.name, check.message);
      phase_ = Phase::kAuth;
      return true;
    }
    case Phase::kAuth: {
      const char* pub = config_.public_key_file.empty() ? nullptr : config_.public_key_file.c_str();
      const int rc = libssh2_userauth_publickey_fromfile_ex(
          s, config_.user.c_str(), static_cast<unsigned>(config_.user.size()), pub,
          config_.private_key_file.c_str(), "");
      if (rc == LIBSSH2_ERROR_EAGAIN) break;
      if (rc != 0) {
        // libssh2 says "Unable to open private key file" for any reason.
        const auto key = ReadTunnelKey(config_.private_key_file);
        Fail(Failure::kSsh,
             "public key authentication as " + config_.user + " with " + config_.private_key_file +
                 " refused: " + (key.ok() ? LastSshError() : key.status().message()));
        return false;
      }
      phase_ = Phase::kForward;
      return true;
    }
    case Phase::kForward: {
      int bound = 0;
      listener_ = libssh2_channel_forward_listen_ex(s, bind_host_.c_str(), bind_port_, &bound,
                                                    kListenQueue);
      if (listener_ == nullptr) {
        if (libssh2_session_last_errno(s) == LIBSSH2_ERROR_EAGAIN) break;
        Fail(Failure::kTransport,
             "sshd refused to listen on " + config_.remote_bind + " (" + LastSshError() +
                 "): port already taken, AllowTcpForwarding/permitlisten, or a privileged port "
                 "without a root login");
        return false;
      }
      OnUp(bound);
      return true;
    }
    default:
      return false;
  }
  ArmWait();
  return false;
}

void SshTunnel::OnUp(int bound_port) {
  deadline_.cancel();
  phase_ = Phase::kUp;
  up_since_ = clock_->SteadyNow();
  last_inbound_ = up_since_;
  failures_ = 0;
  last_recorded_reason_.clear();
  {
    std::lock_guard lock(status_mu_);
    status_.state = "up";
    status_.up_since_us = clock_->NowMicros();
    status_.consecutive_failures = 0;
    status_.next_attempt_us = 0;
    ++status_.sessions;
  }
  Record(SelfEventKind::kTunnelInitiated,
         "tunnel " + config_.name + " up: " + endpoint_ + " listens on " + bind_host_ + ":" +
             std::to_string(bound_port) + " for the collector",
         {{"state", "up"}});
  Tick();
}

void SshTunnel::PumpUp() {
  LIBSSH2_SESSION* s = session_.get();
  while (LIBSSH2_CHANNEL* ch = libssh2_channel_forward_accept(listener_)) AddChannel(ch);
  // libssh2 1.10 reports any transport error here as "channel unknown".
  const int err = libssh2_session_last_errno(s);
  if (err != LIBSSH2_ERROR_EAGAIN) {
    return Fail(Failure::kTransport,
                "SSH session to " + endpoint_ + " lost (" + LastSshError() + ")");
  }
  for (auto it = channels_.begin(); it != channels_.end();) {
    switch ((*it)->Pump()) {
      case TunnelChannel::PumpResult::kOpen:
        ++it;
        break;
      case TunnelChannel::PumpResult::kDone:
        it = channels_.erase(it);
        break;
      case TunnelChannel::PumpResult::kSessionError:
        return Fail(Failure::kTransport,
                    "SSH session to " + endpoint_ + " lost: " + (*it)->last_error());
    }
  }
  ArmWait();
}

void SshTunnel::AddChannel(LIBSSH2_CHANNEL* channel) {
  if (delivery_.serve) {
    // In process: the channel is the session's stream, its identity the tunnel's.
    auto served = std::make_shared<SshChannel>(strand_, channel, config_.name, counters_,
                                               [weak = weak_from_this(), gen = generation_] {
                                                 auto self = weak.lock();
                                                 if (self && self->generation_ == gen)
                                                   self->SchedulePump();
                                               });
    // After this pump: the session's first read asks for another.
    net::post(strand_,
              [serve = delivery_.serve, stream = served->OpenStream(),
               identity = delivery_.identity]() mutable { serve(std::move(stream), identity); });
    spdlog::debug("tunnel {}: new channel, served in process", config_.name);
    channels_.push_back(std::move(served));
    return;
  }
  auto bridge = std::make_shared<ChannelBridge>(strand_, channel, config_.name, counters_,
                                                [weak = weak_from_this(), gen = generation_] {
                                                  auto self = weak.lock();
                                                  if (self && self->generation_ == gen)
                                                    self->Pump();
                                                });
  bridge->Start(delivery_.relay_to);
  spdlog::debug("tunnel {}: new channel, relayed to {}", config_.name,
                delivery_.relay_to.address().to_string());
  channels_.push_back(std::move(bridge));
}

void SshTunnel::SchedulePump() {
  if (pump_scheduled_) return;
  pump_scheduled_ = true;
  net::post(Guard([this] {
    pump_scheduled_ = false;
    Pump();
  }));
}

void SshTunnel::ArmWait() {
  const int dir = libssh2_session_block_directions(session_.get());
  // Always listen for inbound bytes (new channels, data, the peer closing);
  // wait for writability only while libssh2 has output stuck.
  if (!read_waiting_) {
    read_waiting_ = true;
    socket_.async_wait(tcp::socket::wait_read, Guard([this](const boost::system::error_code& ec) {
                         read_waiting_ = false;
                         if (ec) return;
                         last_inbound_ = clock_->SteadyNow();
                         Pump();
                         AckInboundNow();
                       }));
  }
  if ((dir & LIBSSH2_SESSION_BLOCK_OUTBOUND) && !write_waiting_) {
    write_waiting_ = true;
    socket_.async_wait(tcp::socket::wait_write, Guard([this](const boost::system::error_code& ec) {
                         write_waiting_ = false;
                         if (!ec) Pump();
                       }));
  }
}

// audisp-remote writes a frame's header and payload apart; the node's sshd
// forwards them as two SSH packets without TCP_NODELAY on its session socket,
// so the payload waits for our ACK of the header, which Linux delays up to
// 40 ms when we have nothing to send. Quick-ack mode sends it now; the kernel
// leaves that mode again by itself, so it is set after every read.
void SshTunnel::AckInboundNow() {
  if (!socket_.is_open()) return;
  const int on = 1;
  ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
}

// Once a second while up: keepalive, liveness, and a pump for data libssh2
// already buffered (it may never make the socket readable again).
void SshTunnel::Tick() {
  tick_.expires_after(std::chrono::seconds(1));
  tick_.async_wait(Guard([this](const boost::system::error_code& ec) {
    if (ec || phase_ != Phase::kUp) return;
    const uint64_t bytes = counters_->bytes_from_node;
    if (bytes != last_bytes_from_node_) last_inbound_ = clock_->SteadyNow();
    last_bytes_from_node_ = bytes;
    int next = 0;
    if (libssh2_keepalive_send(session_.get(), &next) != 0) {
      return Fail(Failure::kTransport,
                  "SSH keepalive to " + endpoint_ + " failed: " + LastSshError());
    }
    const auto silent = clock_->SteadyNow() - last_inbound_;
    if (silent > std::chrono::seconds(config_.liveness_seconds)) {
      return Fail(Failure::kTransport, "no data from " + endpoint_ + " for " +
                                           FormatDuration(silent) + " (keepalives unanswered)");
    }
    Pump();
    if (phase_ == Phase::kUp) Tick();
  }));
}

void SshTunnel::Fail(Failure kind, const std::string& reason) {
  const bool was_up = phase_ == Phase::kUp;
  const auto up_for = clock_->SteadyNow() - up_since_;
  Teardown();
  if (was_up && up_for >= kStableUp) failures_ = 0;
  ++failures_;
  const std::chrono::milliseconds delay = NextRetryDelay();
  // What the store keeps in HostState.tunnel (server/pipeline/tunnel_state.h).
  const Fields retry = {{"state", "retrying"},
                        {"reason", reason},
                        {"consecutive_failures", std::to_string(failures_)},
                        {"retry_in_ms", std::to_string(delay.count())}};
  if (was_up) {
    Record(SelfEventKind::kTunnelTerminated,
           "tunnel " + config_.name + " to " + endpoint_ + " lost after " + FormatDuration(up_for) +
               ": " + reason,
           retry);
  } else if (reason != last_recorded_reason_ ||
             clock_->SteadyNow() - last_recorded_at_ >= kRepeatEventEvery) {
    Record(kind == Failure::kSsh ? SelfEventKind::kSshSessionFailed : SelfEventKind::kTunnelFailed,
           "tunnel " + config_.name + " to " + endpoint_ + " failed: " + reason, retry);
    last_recorded_reason_ = reason;
    last_recorded_at_ = clock_->SteadyNow();
  } else {
    spdlog::warn("tunnel {}: attempt {} failed again: {}", config_.name, failures_, reason);
  }
  {
    std::lock_guard lock(status_mu_);
    status_.up_since_us = 0;
    status_.last_error = reason;
    status_.last_error_us = clock_->NowMicros();
    status_.consecutive_failures = failures_;
  }
  ScheduleRetry(delay);
}

void SshTunnel::Teardown() {
  ++generation_;  // every pending handler of this session is now ignored
  for (auto& c : channels_) c->Abandon();
  channels_.clear();
  pump_scheduled_ = false;
  if (session_ && phase_ == Phase::kUp) {
    // Best effort, never waited for: the peer learns we left on purpose.
    libssh2_session_disconnect_ex(session_.get(), SSH_DISCONNECT_BY_APPLICATION,
                                  "trailkeepd closing the tunnel", "");
  }
  listener_ = nullptr;
  session_.reset();  // before the socket: the deleter shuts the fd down
  boost::system::error_code ec;
  socket_.close(ec);
  resolver_.cancel();
  deadline_.cancel();
  tick_.cancel();
  read_waiting_ = write_waiting_ = false;
  phase_ = Phase::kIdle;
}

std::chrono::milliseconds SshTunnel::NextRetryDelay() {
  // Exponential backoff with jitter in [d/2, d]: tunnels that failed
  // together (collector restart, node reboot) do not retry in lockstep.
  const uint32_t doublings = std::min<uint32_t>(failures_ - 1, 20);
  const int64_t cap = config_.backoff_max_ms;
  const int64_t d = std::min<int64_t>(cap, int64_t{config_.backoff_min_ms} << doublings);
  std::uniform_int_distribution<int64_t> jitter(d / 2, d);
  return std::chrono::milliseconds(jitter(rng_));
}

void SshTunnel::ScheduleRetry(std::chrono::milliseconds delay) {
  phase_ = Phase::kRetrying;
  {
    std::lock_guard lock(status_mu_);
    status_.state = "retrying";
    status_.next_attempt_us = MicrosFrom(clock_->NowMicros(), delay);
  }
  spdlog::info("tunnel {}: retrying in {} ms (attempt {})", config_.name, delay.count(),
               failures_ + 1);
  retry_.expires_after(delay);
  retry_.async_wait(Guard([this](const boost::system::error_code& ec) {
    if (!ec && phase_ == Phase::kRetrying) Connect();
  }));
}

void SshTunnel::Record(SelfEventKind kind, const std::string& message, const Fields& extra) {
  Fields fields = {
      {"tunnel", config_.name}, {"ssh_endpoint", endpoint_}, {"remote_bind", config_.remote_bind}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  audit_->Record(kind, config_.host + ":" + std::to_string(config_.port), message, fields);
}

std::string SshTunnel::LastSshError() const {
  if (!session_) return "no session";
  char* msg = nullptr;
  int len = 0;
  const int code = libssh2_session_last_error(session_.get(), &msg, &len, 0);
  std::string text = msg != nullptr ? std::string(msg, static_cast<size_t>(std::max(len, 0))) : "";
  return text + " (libssh2 error " + std::to_string(code) + ")";
}

const char* SshTunnel::PhaseName() const {
  switch (phase_) {
    case Phase::kConnecting:
      return "connecting";
    case Phase::kHandshake:
      return "in the SSH handshake";
    case Phase::kAuth:
      return "authenticating";
    case Phase::kForward:
      return "waiting for the remote forward";
    default:
      return "setting up";
  }
}

}  // namespace trailkeep
