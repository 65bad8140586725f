#include "server/tunnel/channel_bridge.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

namespace trailkeep {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr size_t kReadChunk = 16384;

// Errors of the shared transport, as opposed to this channel's own state.
bool IsSessionError(ssize_t rc) {
  return rc == LIBSSH2_ERROR_SOCKET_SEND || rc == LIBSSH2_ERROR_SOCKET_RECV ||
         rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT ||
         rc == LIBSSH2_ERROR_TIMEOUT;
}

}  // namespace

ChannelBridge::ChannelBridge(Strand strand, LIBSSH2_CHANNEL* channel,
                             AuditChannelRegistry* registry, AuditChannel identity,
                             std::shared_ptr<TunnelCounters> counters, std::function<void()> wake)
    : strand_(std::move(strand)),
      channel_(channel),
      registry_(registry),
      identity_(std::move(identity)),
      counters_(std::move(counters)),
      wake_(std::move(wake)),
      socket_(strand_) {
  ++counters_->channels_open;
  ++counters_->channels_total;
}

ChannelBridge::~ChannelBridge() {
  CloseSocket();
  --counters_->channels_open;
}

void ChannelBridge::Start(const tcp::endpoint& target) {
  boost::system::error_code ec;
  socket_.open(target.protocol(), ec);
  // The registry is keyed by our local port: bind it ourselves so the port
  // is known, and registered, before the listener can accept us.
  const net::ip::address loopback = target.address().is_v6()
                                        ? net::ip::address(net::ip::address_v6::loopback())
                                        : net::ip::address(net::ip::address_v4::loopback());
  if (!ec) socket_.bind(tcp::endpoint(loopback, 0), ec);
  if (!ec) local_port_ = socket_.local_endpoint(ec).port();
  if (ec) {
    SetError("cannot bind a loopback socket: " + ec.message());
    socket_done_ = true;
    return;
  }
  socket_.set_option(tcp::no_delay(true), ec);  // acks are small and awaited one by one
  registry_->Register(local_port_, identity_);
  registered_ = true;
  socket_.async_connect(
      target, net::bind_executor(strand_, [self = shared_from_this(),
                                           target](const boost::system::error_code& err) {
        if (self->socket_done_) return;
        if (err) {
          ++self->counters_->channels_failed;
          self->SetError("cannot connect to the port-60 listener " + target.address().to_string() +
                         ":" + std::to_string(target.port()) + ": " + err.message());
          self->socket_done_ = true;
        } else {
          self->connected_ = true;
          self->StartSocketRead();
        }
        self->wake_();
      }));
}

void ChannelBridge::StartSocketRead() {
  if (reading_ || socket_done_ || socket_eof_) return;
  reading_ = true;
  from_socket_len_ = from_socket_off_ = 0;
  socket_.async_read_some(
      net::buffer(from_socket_),
      net::bind_executor(
          strand_, [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
            self->reading_ = false;
            if (self->socket_done_) return;
            if (ec == net::error::eof) {
              self->socket_eof_ = true;
            } else if (ec) {
              self->SetError("port-60 connection: " + ec.message());
              self->socket_done_ = true;
            }
            self->from_socket_len_ = n;
            self->wake_();
          }));
}

void ChannelBridge::StartSocketWrite() {
  writing_ = true;
  net::async_write(socket_, net::buffer(to_socket_),
                   net::bind_executor(strand_, [self = shared_from_this()](
                                                   const boost::system::error_code& ec, size_t) {
                     self->writing_ = false;
                     self->to_socket_.clear();
                     if (self->socket_done_) return;
                     if (ec) {
                       self->SetError("port-60 connection: " + ec.message());
                       self->socket_done_ = true;
                     }
                     self->wake_();
                   }));
}

bool ChannelBridge::WriteToChannel() {
  while (from_socket_off_ < from_socket_len_) {
    const ssize_t n = libssh2_channel_write_ex(channel_, 0, from_socket_.data() + from_socket_off_,
                                               from_socket_len_ - from_socket_off_);
    if (n == LIBSSH2_ERROR_EAGAIN) return true;  // window full or socket busy: next pump
    if (n < 0) {
      SetError("channel write failed (libssh2 error " + std::to_string(n) + ")");
      channel_failed_ = true;
      return !IsSessionError(n);
    }
    from_socket_off_ += static_cast<size_t>(n);
    counters_->bytes_to_node += static_cast<uint64_t>(n);
  }
  if (connected_) StartSocketRead();
  return true;
}

bool ChannelBridge::ReadFromChannel() {
  if (!connected_ || writing_ || channel_eof_ || socket_done_) return true;
  to_socket_.resize(kReadChunk);
  const ssize_t n = libssh2_channel_read_ex(channel_, 0, to_socket_.data(), to_socket_.size());
  if (n > 0) {
    to_socket_.resize(static_cast<size_t>(n));
    counters_->bytes_from_node += static_cast<uint64_t>(n);
    StartSocketWrite();
    return true;
  }
  to_socket_.clear();
  if (n == LIBSSH2_ERROR_EAGAIN) return true;
  if (n == 0) {
    // 0 without EOF does not happen in 1.10, but never spin on it.
    channel_eof_ = true;
    return true;
  }
  SetError("channel read failed (libssh2 error " + std::to_string(n) + ")");
  channel_failed_ = true;
  return !IsSessionError(n);
}

bool ChannelBridge::Finished() const {
  if (channel_failed_ || socket_done_) return true;
  // One side closed: done once what it sent has reached the other side.
  if (channel_eof_ && !writing_ && to_socket_.empty()) return true;
  if (socket_eof_ && from_socket_off_ >= from_socket_len_) return true;
  return false;
}

ChannelBridge::PumpResult ChannelBridge::Pump() {
  if (!freeing_) {
    if (!WriteToChannel() || !ReadFromChannel()) return PumpResult::kSessionError;
    if (!Finished()) return PumpResult::kOpen;
    CloseSocket();
    freeing_ = true;
  }
  return TryFree();
}

ChannelBridge::PumpResult ChannelBridge::TryFree() {
  if (channel_ == nullptr) return PumpResult::kDone;
  // Sends EOF and CLOSE first; EAGAIN until they are out.
  const int rc = libssh2_channel_free(channel_);
  if (rc == LIBSSH2_ERROR_EAGAIN) return PumpResult::kOpen;
  channel_ = nullptr;
  return PumpResult::kDone;
}

void ChannelBridge::Abandon() {
  CloseSocket();
  channel_ = nullptr;  // the session frees its channels
}

void ChannelBridge::CloseSocket() {
  socket_done_ = true;
  boost::system::error_code ec;
  socket_.close(ec);  // pending handlers run with operation_aborted
  if (registered_) {
    registry_->Unregister(local_port_);
    registered_ = false;
  }
}

void ChannelBridge::SetError(std::string what) {
  if (!error_.empty()) return;  // the first error is the cause
  error_ = std::move(what);
  spdlog::warn("tunnel {}: channel via 127.0.0.1:{}: {}", identity_.node, local_port_, error_);
}

}  // namespace trailkeep
