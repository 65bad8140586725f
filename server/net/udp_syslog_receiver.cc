#include "server/net/udp_syslog_receiver.h"

#include <algorithm>
#include <stdexcept>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <sys/socket.h>

#include "common/base/endpoint.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

namespace net = boost::asio;
using udp = net::ip::udp;
using boost::system::error_code;

namespace {

constexpr int kMaxDatagramsPerWakeup = 256;
constexpr auto kRetryDelay = std::chrono::milliseconds(2);
constexpr size_t kMaxDatagram = 65'535;

// SO_RCVBUFFORCE first: started as root (or with CAP_NET_ADMIN) the collector
// binds before it drops privileges, and may exceed net.core.rmem_max, which
// caps SO_RCVBUF silently; without the privilege, SO_RCVBUF as capped.
void SetReceiveBuffer(udp::socket& sock, int bytes, error_code* ec) {
  if (::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) == 0) {
    return;
  }
  sock.set_option(net::socket_base::receive_buffer_size(bytes), *ec);
}

std::string Format(const udp::endpoint& ep) {
  return FormatEndpoint(ep.address().to_string(), ep.address().is_v6(), ep.port());
}

}  // namespace

udp::socket BindUdp(net::io_context& io, const std::string& address, int receive_buffer_bytes) {
  std::string host;
  unsigned short port;
  SplitHostPort(address, &host, &port);
  error_code ec;
  const auto ip = net::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("bad listen address '" + address + "': " + ec.message());
  const udp::endpoint ep(ip, port);
  udp::socket sock(net::make_strand(io));
  sock.open(ep.protocol(), ec);
  if (!ec) sock.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec && receive_buffer_bytes > 0) SetReceiveBuffer(sock, receive_buffer_bytes, &ec);
  if (!ec) sock.bind(ep, ec);
  // Draining what is queued after each wakeup must not block.
  if (!ec) sock.non_blocking(true, ec);
  if (ec) throw std::runtime_error("cannot listen on udp " + address + ": " + ec.message());
  return sock;
}

UdpSyslogReceiver::UdpSyslogReceiver(udp::socket socket, std::shared_ptr<PlainSyslogContext> ctx)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      ctx_(std::move(ctx)),
      // One byte more than the largest frame: a longer datagram shows as oversize.
      buf_(std::min(ctx_->options.max_frame_bytes + 1, kMaxDatagram)) {
  error_code ec;
  const auto ep = socket_.local_endpoint(ec);
  if (!ec) local_ = Format(ep);
}

void UdpSyslogReceiver::Start() { ReceiveNext(); }

void UdpSyslogReceiver::Stop() {
  net::post(socket_.get_executor(), [self = shared_from_this()] {
    // Frames held for the sink are still handed over (Deliver), then it stops.
    error_code ec;
    self->socket_.close(ec);
  });
}

void UdpSyslogReceiver::ReceiveNext() {
  socket_.async_receive_from(
      net::buffer(buf_), sender_,
      [self = shared_from_this()](error_code ec, size_t n) { self->OnReceive(ec, n); });
}

void UdpSyslogReceiver::OnReceive(error_code ec, size_t n) {
  if (ec == net::error::operation_aborted || !socket_.is_open()) return;
  const int64_t now = ctx_->options.clock->NowMicros();
  if (!ec) Take(n, now);
  // What else is queued already goes in the same batch.
  for (int i = 0; i < kMaxDatagramsPerWakeup; ++i) {
    error_code rec;
    const size_t got = socket_.receive_from(net::buffer(buf_), sender_, 0, rec);
    if (rec) break;  // would_block: the queue is empty (an ICMP error: next time)
    Take(got, now);
  }
  Deliver();
}

void UdpSyslogReceiver::Take(size_t n, int64_t now_us) {
  PlainSyslogCounters& c = ctx_->counters;
  ++c.udp_datagrams;
  c.bytes += n;
  if (n > ctx_->options.max_frame_bytes) {
    ++c.udp_oversize;
    return;
  }
  if (!ctx_->limiter.Admit(sender_.address().to_string(), now_us)) {
    ++c.udp_rate_limited;
    return;
  }
  if (!last_peer_ || sender_ != last_sender_) {
    last_sender_ = sender_;
    last_peer_ = PlainPeer(Format(sender_), local_, v1::TRANSPORT_UDP_SYSLOG);
  }
  pending_.frames.push_back(RawFrame{std::string(buf_.data(), n), now_us, last_peer_});
  ++c.frames_held;
}

void UdpSyslogReceiver::Deliver() {
  const size_t held = pending_.frames.size();
  const auto& full = ctx_->options.disk_full;
  if (held > 0 && full && full->load(std::memory_order_relaxed)) {
    // Nothing can push a UDP sender back: drop and count, keep the socket drained.
    ctx_->counters.udp_disk_full += held;
    ctx_->counters.frames_held -= held;
    pending_.frames.clear();
    if (socket_.is_open()) ReceiveNext();
    return;
  }
  if (held > 0 && !ctx_->sink->Offer(&pending_, {})) {
    timer_.expires_after(kRetryDelay);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec != net::error::operation_aborted) self->Deliver();
    });
    return;
  }
  ctx_->counters.frames_held -= held;
  if (socket_.is_open()) ReceiveNext();
}

}  // namespace trailkeep
