// Listening sockets for the collector's listeners (syslog, export).
// Included by .cc files of server/net and server/sinks only: it names Asio.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace trailkeep {

// Binds and listens on "host:port" / "[v6]:port" (port 0: a free port).
// Throws std::runtime_error naming the address on any failure (start-up only).
std::unique_ptr<boost::asio::ip::tcp::acceptor> BindAcceptor(boost::asio::io_context& io,
                                                             const std::string& address);
// The bound "ip:port" of an acceptor, "" when it is closed.
std::string LocalAddress(const boost::asio::ip::tcp::acceptor& acceptor);

}  // namespace trailkeep
