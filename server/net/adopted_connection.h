// A TCP connection one listener accepted and hands to another: the port-60
// listener passes a trailkeep agent (after its hello, port60_hello.h) to
// the TLS syslog listener. Internal to server/net: names Asio.
#pragma once

#include <string>

#include <boost/asio/ip/tcp.hpp>

namespace trailkeep {

struct AdoptedConnection {
  boost::asio::ip::tcp::socket socket;
  std::string listener;  // the local address that accepted it
  std::string tunnel;    // the [[tunnel]] node it came through, "" when none
};

}  // namespace trailkeep
