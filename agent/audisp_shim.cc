#include "agent/audisp_shim.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <random>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/file_tailer.h"
#include "agent/unique_fd.h"

namespace trailkeep::agent {
namespace {

using Clock = std::chrono::steady_clock;

// Whole milliseconds from `now` to `t`, rounded up (poll() must not wake
// before `t`), 0 when `t` has passed.
int MillisUntil(Clock::time_point t, Clock::time_point now) {
  if (t <= now) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(t - now).count();
  return static_cast<int>(std::min<int64_t>(ms, INT32_MAX));
}

UniqueFd ConnectUnix(const std::string& path, std::string* error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    *error = "socket path too long";
    return UniqueFd();
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    *error = std::strerror(errno);
    return UniqueFd();
  }
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    *error = std::strerror(errno);
    return UniqueFd();
  }
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
  return fd;
}

class Shim {
 public:
  explicit Shim(const ShimOptions& o) : o_(o), backoff_ms_(o.retry_min_ms) {}

  int Run() {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGPIPE);
    if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return 1;
    UniqueFd sig(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sig.valid()) {
      spdlog::error("trailkeep audisp: signalfd: {}", std::strerror(errno));
      return 1;
    }
    spdlog::info("trailkeep audisp: relaying audit records to {}", o_.socket_path);
    for (;;) {
      const auto now = Clock::now();
      if (eof_ && unacked_.empty()) {
        spdlog::info("trailkeep audisp: end of input, everything acknowledged");
        return 0;
      }
      if (terminating_ && (unacked_.empty() || now >= term_deadline_)) {
        if (!unacked_.empty()) {
          spdlog::error(
              "trailkeep audisp: exiting with {} audit record(s) not acknowledged by "
              "the forwarder",
              unacked_.size());
        }
        return 0;
      }
      if (!sock_.valid() && now >= next_retry_) Connect();

      pollfd fds[3];
      nfds_t n = 0;
      fds[n++] = {sig.get(), POLLIN, 0};
      int in_index = -1, sock_index = -1;
      if (sock_.valid() && !eof_ && !terminating_ && unacked_.size() < o_.max_unacked_lines &&
          unacked_bytes_ < o_.max_unacked_bytes) {
        in_index = static_cast<int>(n);
        fds[n++] = {o_.in_fd, POLLIN, 0};
      }
      if (sock_.valid()) {
        sock_index = static_cast<int>(n);
        const bool want_write = !out_.empty() || sent_ < unacked_.size();
        fds[n++] = {sock_.get(), static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
      }
      int timeout_ms = 1000;
      if (!sock_.valid()) timeout_ms = MillisUntil(next_retry_, now);
      // A wait for the next reconnect (up to retry_max_ms) must not outlast
      // the grace: whoever sent SIGTERM may not wait longer, and a SIGKILL
      // leaves no report of what was not acknowledged.
      if (terminating_) timeout_ms = std::min(timeout_ms, MillisUntil(term_deadline_, now));
      const int rc = ::poll(fds, n, timeout_ms);
      if (rc < 0) {
        if (errno == EINTR) continue;
        spdlog::error("trailkeep audisp: poll: {}", std::strerror(errno));
        return 1;
      }
      if ((fds[0].revents & POLLIN) != 0) HandleSignal(sig.get());
      if (sock_index >= 0 && (fds[sock_index].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        ReadAcks();
      }
      if (sock_index >= 0 && sock_.valid() && (fds[sock_index].revents & POLLOUT) != 0) {
        WriteLines();
      }
      if (in_index >= 0 && (fds[in_index].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        ReadStdin();
      }
    }
  }

 private:
  void Connect() {
    std::string error;
    UniqueFd fd = ConnectUnix(o_.socket_path, &error);
    if (!fd.valid()) {
      if (!warned_) {
        spdlog::warn(
            "trailkeep audisp: cannot connect to {}: {} (retrying; audit records wait "
            "in auditd's queue)",
            o_.socket_path, error);
        warned_ = true;
      }
      std::uniform_int_distribution<int> jitter(backoff_ms_ / 2, backoff_ms_);
      next_retry_ = Clock::now() + std::chrono::milliseconds(jitter(rng_));
      backoff_ms_ = std::min(backoff_ms_ * 2, o_.retry_max_ms);
      return;
    }
    sock_ = std::move(fd);
    sent_ = 0;
    out_.clear();
    ack_buf_.clear();
    backoff_ms_ = o_.retry_min_ms;
    warned_ = false;
    spdlog::info("trailkeep audisp: connected to {}; {} unacknowledged record(s) to resend",
                 o_.socket_path, unacked_.size());
  }

  void Disconnect(const std::string& why) {
    spdlog::warn("trailkeep audisp: lost the forwarder ({}); {} record(s) unacknowledged", why,
                 unacked_.size());
    sock_.Reset();
    next_retry_ = Clock::now() + std::chrono::milliseconds(o_.retry_min_ms);
  }

  void HandleSignal(int fd) {
    signalfd_siginfo info{};
    while (::read(fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
        if (!terminating_) {
          terminating_ = true;
          term_deadline_ = Clock::now() + std::chrono::milliseconds(o_.term_grace_ms);
        }
      }
    }
  }

  void ReadStdin() {
    char buf[64 * 1024];
    const ssize_t n = ::read(o_.in_fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) return;
      spdlog::error("trailkeep audisp: reading stdin: {}", std::strerror(errno));
      eof_ = true;
    } else if (n == 0) {
      eof_ = true;
    } else {
      in_.append(buf, static_cast<size_t>(n));
    }
    size_t start = 0;
    for (;;) {
      const size_t nl = in_.find('\n', start);
      if (nl == std::string::npos) {
        if (in_.size() - start >= kMaxLineBytes) {
          Queue(in_.substr(start, kMaxLineBytes));
          start += kMaxLineBytes;
          continue;
        }
        break;
      }
      const size_t len = std::min(nl - start, kMaxLineBytes);
      Queue(in_.substr(start, len));
      start += len;
      if (start == nl) ++start;
    }
    in_.erase(0, start);
    if (eof_ && !in_.empty()) {
      Queue(std::move(in_));
      in_.clear();
    }
  }

  void Queue(std::string line) {
    if (line.empty()) return;
    unacked_bytes_ += line.size();
    unacked_.push_back(std::move(line));
  }

  void WriteLines() {
    while (out_.size() < 64 * 1024 && sent_ < unacked_.size()) {
      out_ += unacked_[sent_++];
      out_.push_back('\n');
    }
    while (!out_.empty()) {
      const ssize_t n = ::send(sock_.get(), out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        const std::string why = std::strerror(errno);
        ReadAcks();  // what the forwarder acknowledged before it went
        if (sock_.valid()) Disconnect(why);
        return;
      }
      out_.erase(0, static_cast<size_t>(n));
    }
  }

  // Reads every answer waiting on the socket, disconnecting at its end. A
  // failed send calls it too before it drops the connection: ACKs that came
  // before the forwarder closed still count, or acknowledged lines go again.
  void ReadAcks() {
    char buf[4096];
    while (sock_.valid()) {
      const ssize_t n = ::recv(sock_.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) Disconnect(std::strerror(errno));
        return;
      }
      if (n == 0) {
        Disconnect("the forwarder closed the connection");
        return;
      }
      ack_buf_.append(buf, static_cast<size_t>(n));
      TakeAcks();
    }
  }

  void TakeAcks() {
    size_t nl;
    while ((nl = ack_buf_.find('\n')) != std::string::npos) {
      const std::string line = ack_buf_.substr(0, nl);
      ack_buf_.erase(0, nl + 1);
      if (line.rfind("ACK ", 0) != 0) {
        spdlog::warn("trailkeep audisp: unexpected answer '{}'", line);
        continue;
      }
      const uint64_t count = std::strtoull(line.c_str() + 4, nullptr, 10);
      const size_t k = static_cast<size_t>(std::min<uint64_t>(count, sent_));
      for (size_t i = 0; i < k; ++i) {
        unacked_bytes_ -= unacked_.front().size();
        unacked_.pop_front();
      }
      sent_ -= k;
    }
  }

  const ShimOptions& o_;
  UniqueFd sock_;
  std::deque<std::string> unacked_;
  size_t unacked_bytes_ = 0;
  size_t sent_ = 0;  // unacked_[0, sent_) were put on the current connection
  std::string out_, in_, ack_buf_;
  bool eof_ = false;
  bool terminating_ = false;
  bool warned_ = false;
  Clock::time_point term_deadline_{};
  Clock::time_point next_retry_{};
  int backoff_ms_;
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace

int RunAudispShim(const ShimOptions& options) { return Shim(options).Run(); }

}  // namespace trailkeep::agent
