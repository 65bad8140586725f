// UdpSyslogReceiver: one bound UDP socket of a [[listen.udp]] listener. Each
// datagram is one RFC 5426 message: admitted by the sender's rate limit (else
// dropped and counted), then offered to the sink with the datagrams already
// queued in the socket, in one batch. While the sink refuses, it holds the
// batch and stops receiving, so the socket's buffer fills instead of the
// heap. Internal to server/net: names Asio.
//
// Concurrency: runs on the socket's strand.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/net/plain_syslog_context.h"

namespace trailkeep {

class UdpSyslogReceiver : public std::enable_shared_from_this<UdpSyslogReceiver> {
 public:
  UdpSyslogReceiver(boost::asio::ip::udp::socket socket, std::shared_ptr<PlainSyslogContext> ctx);
  void Start();
  // Closes the socket on its strand; callable from any thread.
  void Stop();
  const std::string& local_address() const { return local_; }

 private:
  void ReceiveNext();
  void OnReceive(boost::system::error_code ec, size_t n);
  void Take(size_t n, int64_t now_us);
  void Deliver();

  boost::asio::ip::udp::socket socket_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<PlainSyslogContext> ctx_;
  std::string local_;
  std::vector<char> buf_;
  boost::asio::ip::udp::endpoint sender_;
  boost::asio::ip::udp::endpoint last_sender_;
  std::shared_ptr<const v1::Peer> last_peer_;
  IngestBatch pending_;  // kSyslog
};

// Binds "host:port" (SO_RCVBUF = receive_buffer_bytes when not 0) on a
// strand of `io`. Throws std::runtime_error naming the address (start-up).
boost::asio::ip::udp::socket BindUdp(boost::asio::io_context& io, const std::string& address,
                                     int receive_buffer_bytes);

}  // namespace trailkeep
