#include "agent/audisp_listener.h"

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/file_tailer.h"

namespace trailkeep::agent {

namespace net = boost::asio;
using boost::system::error_code;
using net::awaitable;
using net::redirect_error;
using net::use_awaitable;
using Local = net::local::stream_protocol;

struct AudispConnection {
  explicit AudispConnection(net::io_context& io) : socket(io) {}
  Local::socket socket;
  uint64_t id = 0;
  uint64_t unacked_to_send = 0;  // lines spooled but not yet ACKed on the wire
  std::string out;               // ACK bytes the socket has not taken yet
  bool waiting = false;          // for the socket to take `out`
  bool closed = false;
};

struct AudispListener::Impl : std::enable_shared_from_this<AudispListener::Impl> {
  Impl(net::io_context& io_context, std::string path, std::function<void()> cb)
      : io(io_context),
        socket_path(std::move(path)),
        on_data(std::move(cb)),
        acceptor(io_context),
        gate(io_context) {
    gate.expires_at(net::steady_timer::time_point::max());
  }

  net::io_context& io;
  std::string socket_path;
  std::function<void()> on_data;
  Local::acceptor acceptor;
  net::steady_timer gate;  // readers wait here while paused or the queue is full
  std::map<uint64_t, std::shared_ptr<AudispConnection>> conns;
  std::deque<AudispLine> queue;
  size_t queued_bytes = 0;
  uint64_t next_id = 1;
  bool paused = false;
  bool stopped = false;

  bool Blocked() const { return paused || queued_bytes > kMaxQueuedBytes; }
  void OpenGate() {
    if (!Blocked()) gate.cancel();
  }

  awaitable<void> Accept();
  awaitable<void> Read(std::shared_ptr<AudispConnection> c);
  void Push(uint64_t id, std::string text) {
    queued_bytes += text.size();
    queue.push_back({id, std::move(text)});
  }
  void Flush(const std::shared_ptr<AudispConnection>& c);
  void WriteOut(AudispConnection& c);
};

awaitable<void> AudispListener::Impl::Accept() {
  auto self = shared_from_this();
  while (!stopped) {
    error_code ec;
    auto c = std::make_shared<AudispConnection>(io);
    co_await acceptor.async_accept(c->socket, redirect_error(use_awaitable, ec));
    if (stopped) break;
    if (ec) {
      spdlog::warn("audisp socket {}: accept: {}", socket_path, ec.message());
      continue;
    }
    c->id = next_id++;
    conns[c->id] = c;
    spdlog::info("audisp shim connected on {} (connection {})", socket_path, c->id);
    net::co_spawn(io, Read(c), net::detached);
  }
}

awaitable<void> AudispListener::Impl::Read(std::shared_ptr<AudispConnection> c) {
  auto self = shared_from_this();
  std::string pending;
  char buf[64 * 1024];
  while (!stopped && !c->closed) {
    while (Blocked() && !stopped && !c->closed) {
      error_code ec;  // the gate never expires: OpenGate() cancels the waits
      co_await gate.async_wait(redirect_error(use_awaitable, ec));
    }
    if (stopped || c->closed) break;
    error_code ec;
    const size_t n =
        co_await c->socket.async_read_some(net::buffer(buf), redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec != net::error::eof && ec != net::error::operation_aborted) {
        spdlog::warn("audisp connection {}: {}", c->id, ec.message());
      }
      break;
    }
    pending.append(buf, n);
    size_t start = 0;
    bool any = false;
    for (;;) {
      const size_t nl = pending.find('\n', start);
      if (nl == std::string::npos) {
        if (pending.size() - start >= kMaxLineBytes) {
          Push(c->id, pending.substr(start, kMaxLineBytes));
          start += kMaxLineBytes;
          any = true;
          continue;
        }
        break;
      }
      const size_t len = std::min(nl - start, kMaxLineBytes);
      Push(c->id, pending.substr(start, len));
      start += len;
      if (start == nl) ++start;
      any = true;
    }
    pending.erase(0, start);
    if (any && on_data) on_data();
  }
  c->closed = true;
  error_code ignored;
  c->socket.close(ignored);
  conns.erase(c->id);
  spdlog::info("audisp shim disconnected (connection {})", c->id);
}

void AudispListener::Impl::Flush(const std::shared_ptr<AudispConnection>& c) {
  if (c->closed) return;
  if (c->unacked_to_send > 0) {
    c->out += "ACK " + std::to_string(c->unacked_to_send) + "\n";
    c->unacked_to_send = 0;
  }
  if (c->waiting) return;
  WriteOut(*c);
  if (c->closed || c->out.empty()) return;
  c->waiting = true;
  auto self = shared_from_this();
  c->socket.async_wait(Local::socket::wait_write, [self, c](error_code ec) {
    c->waiting = false;
    if (!ec) self->Flush(c);
  });
}

// Sends at once what the socket takes, rather than through the io_context: a
// forwarder that stops right after spooling (Stop() follows in the same
// handler) must still have told the shim, or the shim sends the lines again.
void AudispListener::Impl::WriteOut(AudispConnection& c) {
  while (!c.closed && !c.out.empty()) {
    const ssize_t n =
        ::send(c.socket.native_handle(), c.out.data(), c.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      c.closed = true;  // the shim is gone; it resends what it has no ACK for
      error_code ignored;
      c.socket.close(ignored);
    }
  }
}

AudispListener::AudispListener(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
AudispListener::~AudispListener() { Stop(); }

Result<std::unique_ptr<AudispListener>> AudispListener::Create(net::io_context& io,
                                                               const std::string& socket_path,
                                                               std::function<void()> on_data) {
  auto impl = std::make_shared<Impl>(io, socket_path, std::move(on_data));
  const size_t slash = socket_path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    const std::string dir = socket_path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
      return Status::IoError("cannot create " + dir + ": " + std::strerror(errno));
    }
  }
  struct stat st {};
  if (::lstat(socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::InvalidArgument("audisp.socket " + socket_path +
                                     " exists and is not a socket");
    }
    ::unlink(socket_path.c_str());
  }
  error_code ec;
  const mode_t old_mask = ::umask(077);
  impl->acceptor.open(Local(), ec);
  if (!ec) impl->acceptor.bind(Local::endpoint(socket_path), ec);
  ::umask(old_mask);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IoError("cannot listen on audisp socket " + socket_path + ": " + ec.message());
  }
  ::chmod(socket_path.c_str(), 0600);
  return std::unique_ptr<AudispListener>(new AudispListener(std::move(impl)));
}

void AudispListener::Start() { net::co_spawn(impl_->io, impl_->Accept(), net::detached); }

void AudispListener::TakeLines(size_t max_bytes, std::vector<AudispLine>* out) {
  size_t taken = 0;
  while (!impl_->queue.empty() && (taken == 0 || taken < max_bytes)) {
    if (max_bytes == 0) break;
    AudispLine& l = impl_->queue.front();
    taken += l.text.size();
    impl_->queued_bytes -= l.text.size();
    out->push_back(std::move(l));
    impl_->queue.pop_front();
  }
  impl_->OpenGate();
}

void AudispListener::Acknowledge(const std::vector<AudispLine>& lines) {
  std::map<uint64_t, uint64_t> counts;
  for (const auto& l : lines) ++counts[l.connection];
  for (const auto& [id, n] : counts) {
    auto it = impl_->conns.find(id);
    if (it == impl_->conns.end()) continue;  // gone: the shim resends
    it->second->unacked_to_send += n;
    impl_->Flush(it->second);
  }
}

void AudispListener::SetPaused(bool paused) {
  impl_->paused = paused;
  impl_->OpenGate();
}

size_t AudispListener::connections() const { return impl_->conns.size(); }

void AudispListener::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->gate.cancel();
  for (auto& [id, c] : impl_->conns) {
    impl_->WriteOut(*c);  // a last try for ACKs the shim was slow to take
    c->closed = true;
    c->socket.close(ignored);
  }
  ::unlink(impl_->socket_path.c_str());
}

}  // namespace trailkeep::agent
