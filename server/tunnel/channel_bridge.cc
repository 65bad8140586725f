#include "server/tunnel/channel_bridge.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

namespace trailkeep {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr size_t kReadChunk = 16384;

}  // namespace

ChannelBridge::ChannelBridge(Strand strand, LIBSSH2_CHANNEL* channel, std::string node,
                             std::shared_ptr<TunnelCounters> counters, std::function<void()> wake)
    : strand_(std::move(strand)),
      channel_(channel),
      node_(std::move(node)),
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
  if (ec) {
    SetError("cannot open a socket: " + ec.message());
    socket_done_ = true;
    return;
  }
  socket_.set_option(tcp::no_delay(true), ec);  // acks are small and awaited one by one
  socket_.async_connect(
      target, net::bind_executor(strand_, [self = shared_from_this(),
                                           target](const boost::system::error_code& err) {
        if (self->socket_done_) return;
        if (err) {
          ++self->counters_->channels_failed;
          self->SetError("cannot connect to " + target.address().to_string() + ":" +
                         std::to_string(target.port()) + ": " + err.message());
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
              self->SetError("forward_to connection: " + ec.message());
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
                       self->SetError("forward_to connection: " + ec.message());
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
      return !IsSshSessionError(n);
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
  return !IsSshSessionError(n);
}

bool ChannelBridge::Finished() const {
  if (channel_failed_ || socket_done_) return true;
  // One side closed: done once what it sent has reached the other side.
  if (channel_eof_ && !writing_ && to_socket_.empty()) return true;
  if (socket_eof_ && from_socket_off_ >= from_socket_len_) return true;
  return false;
}

TunnelChannel::PumpResult ChannelBridge::Pump() {
  if (!freeing_) {
    if (!WriteToChannel() || !ReadFromChannel()) return PumpResult::kSessionError;
    if (!Finished()) return PumpResult::kOpen;
    CloseSocket();
    freeing_ = true;
  }
  return FreeChannel(&channel_);
}

void ChannelBridge::Abandon() {
  CloseSocket();
  channel_ = nullptr;  // the session frees its channels
}

void ChannelBridge::CloseSocket() {
  socket_done_ = true;
  boost::system::error_code ec;
  socket_.close(ec);  // pending handlers run with operation_aborted
}

void ChannelBridge::SetError(std::string what) {
  if (!error_.empty()) return;  // the first error is the cause
  error_ = std::move(what);
  spdlog::warn("tunnel {}: relayed channel: {}", node_, error_);
}

}  // namespace trailkeep
