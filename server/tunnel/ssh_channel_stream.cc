#include "server/tunnel/ssh_channel_stream.h"

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace trailkeep {

namespace net = boost::asio;
using boost::system::error_code;

// The session's end: forwards to the channel, which outlives it as long as
// the tunnel still has to flush and free it.
class SshChannelStream final : public ByteStream {
 public:
  explicit SshChannelStream(std::shared_ptr<SshChannel> channel) : channel_(std::move(channel)) {}
  ~SshChannelStream() override { channel_->CloseFromSession(); }

  net::any_io_executor executor() override { return channel_->strand_; }
  void AsyncReadSome(net::mutable_buffer buffer, Handler handler) override {
    channel_->StartRead(buffer, std::move(handler));
  }
  void AsyncWrite(net::const_buffer buffer, Handler handler) override {
    channel_->StartWrite(buffer, std::move(handler));
  }
  size_t ReadSomeNow(net::mutable_buffer buffer, error_code& ec) override {
    return channel_->ReadNow(buffer, ec);
  }
  size_t WriteSomeNow(net::const_buffer buffer, error_code& ec) override {
    return channel_->WriteNow(buffer, ec);
  }
  void Close() override { channel_->CloseFromSession(); }

 private:
  std::shared_ptr<SshChannel> channel_;
};

SshChannel::SshChannel(Strand strand, LIBSSH2_CHANNEL* channel, std::string node,
                       std::shared_ptr<TunnelCounters> counters, std::function<void()> wake)
    : strand_(std::move(strand)),
      channel_(channel),
      node_(std::move(node)),
      counters_(std::move(counters)),
      wake_(std::move(wake)) {
  ++counters_->channels_open;
  ++counters_->channels_total;
}

SshChannel::~SshChannel() { --counters_->channels_open; }

std::unique_ptr<ByteStream> SshChannel::OpenStream() {
  return std::make_unique<SshChannelStream>(shared_from_this());
}

error_code SshChannel::Unusable() const {
  if (session_closed_ || abandoned_) return net::error::operation_aborted;
  if (failed_) return net::error::connection_reset;
  return {};
}

void SshChannel::Complete(ByteStream::Handler* handler, const error_code& ec, size_t n) {
  if (!*handler) return;
  // Never inside the caller's (or the pump's) own call.
  net::post(strand_, [h = std::move(*handler), ec, n] { h(ec, n); });
  *handler = nullptr;
}

void SshChannel::StartRead(net::mutable_buffer buffer, ByteStream::Handler handler) {
  if (const error_code ec = Unusable()) return Complete(&handler, ec, 0);
  if (buffer.size() == 0) return Complete(&handler, {}, 0);
  if (node_eof_) return Complete(&handler, net::error::eof, 0);
  read_buffer_ = buffer;
  read_handler_ = std::move(handler);
  wake_();
}

void SshChannel::StartWrite(net::const_buffer buffer, ByteStream::Handler handler) {
  if (const error_code ec = Unusable()) return Complete(&handler, ec, 0);
  out_.append(static_cast<const char*>(buffer.data()), buffer.size());
  write_size_ = buffer.size();
  write_owed_ = out_.size() - out_off_;
  write_handler_ = std::move(handler);
  wake_();
}

size_t SshChannel::ReadNow(net::mutable_buffer buffer, error_code& ec) {
  ec = Unusable();
  if (ec) return 0;
  if (node_eof_) {
    ec = net::error::eof;
    return 0;
  }
  const ssize_t n =
      libssh2_channel_read_ex(channel_, 0, static_cast<char*>(buffer.data()), buffer.size());
  // libssh2 read the session socket: other channels may have data waiting now.
  wake_();
  if (n > 0) {
    counters_->bytes_from_node += static_cast<uint64_t>(n);
    return static_cast<size_t>(n);
  }
  if (n == LIBSSH2_ERROR_EAGAIN) {
    ec = net::error::would_block;
  } else if (n == 0) {
    node_eof_ = true;
    ec = net::error::eof;
  } else {
    SetError("channel read failed (libssh2 error " + std::to_string(n) + ")");
    Fail(net::error::connection_reset);
    ec = net::error::connection_reset;
  }
  return 0;
}

size_t SshChannel::WriteNow(net::const_buffer buffer, error_code& ec) {
  ec = Unusable();
  if (ec) return 0;
  out_.append(static_cast<const char*>(buffer.data()), buffer.size());
  wake_();
  return buffer.size();
}

void SshChannel::CloseFromSession() {
  if (session_closed_) return;
  session_closed_ = true;
  Complete(&read_handler_, net::error::operation_aborted, 0);
  Complete(&write_handler_, net::error::operation_aborted, 0);
  wake_();  // flushes what the session wrote, then frees the channel
}

void SshChannel::Fail(const error_code& ec) {
  failed_ = true;
  Complete(&read_handler_, ec, 0);
  Complete(&write_handler_, ec, 0);
}

bool SshChannel::Flush() {
  while (out_off_ < out_.size()) {
    const ssize_t n =
        libssh2_channel_write_ex(channel_, 0, out_.data() + out_off_, out_.size() - out_off_);
    if (n == LIBSSH2_ERROR_EAGAIN) break;  // window full or socket busy: next pump
    if (n < 0) {
      SetError("channel write failed (libssh2 error " + std::to_string(n) + ")");
      Fail(net::error::connection_reset);
      return !IsSshSessionError(n);
    }
    out_off_ += static_cast<size_t>(n);
    write_owed_ -= std::min(write_owed_, static_cast<size_t>(n));
    counters_->bytes_to_node += static_cast<uint64_t>(n);
  }
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  }
  if (write_owed_ == 0) Complete(&write_handler_, {}, write_size_);
  return true;
}

bool SshChannel::Fill() {
  if (!read_handler_) return true;
  const ssize_t n = libssh2_channel_read_ex(channel_, 0, static_cast<char*>(read_buffer_.data()),
                                            read_buffer_.size());
  if (n > 0) {
    counters_->bytes_from_node += static_cast<uint64_t>(n);
    Complete(&read_handler_, {}, static_cast<size_t>(n));
    return true;
  }
  if (n == LIBSSH2_ERROR_EAGAIN) return true;
  if (n == 0) {
    // 0 without EOF does not happen in 1.10, but never spin on it.
    node_eof_ = true;
    Complete(&read_handler_, net::error::eof, 0);
    return true;
  }
  SetError("channel read failed (libssh2 error " + std::to_string(n) + ")");
  Fail(net::error::connection_reset);
  return !IsSshSessionError(n);
}

TunnelChannel::PumpResult SshChannel::Pump() {
  if (abandoned_) return PumpResult::kDone;
  if (!freeing_) {
    if (!failed_ && (!Flush() || !Fill())) return PumpResult::kSessionError;
    if (!session_closed_ && !failed_) return PumpResult::kOpen;
    // What the session wrote before closing goes out first.
    if (!failed_ && out_off_ < out_.size()) return PumpResult::kOpen;
    freeing_ = true;
  }
  return FreeChannel(&channel_);
}

void SshChannel::Abandon() {
  abandoned_ = true;
  channel_ = nullptr;  // the SSH session frees its channels
  Complete(&read_handler_, net::error::operation_aborted, 0);
  Complete(&write_handler_, net::error::operation_aborted, 0);
}

void SshChannel::SetError(std::string what) {
  if (!error_.empty()) return;  // the first error is the cause
  error_ = std::move(what);
  spdlog::warn("tunnel {}: channel: {}", node_, error_);
}

}  // namespace trailkeep
