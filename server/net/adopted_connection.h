// A connection one listener accepted and hands to another: the port-60
// listener passes a trailkeep agent (after its hello, port60_hello.h) to
// the TLS syslog listener. Internal to server/net: names Asio.
#pragma once

#include <memory>

#include "server/net/byte_stream.h"
#include "server/net/protocols.h"

namespace trailkeep {

struct AdoptedConnection {
  std::unique_ptr<ByteStream> stream;
  ChannelIdentity identity;  // its tunnel names the [[tunnel]] node it came through
  Protocols admitted;        // what its TLS session may carry (the handing listener's say)
};

}  // namespace trailkeep
