// A connection one listener accepted and hands to another: the port-60
// listener passes a trailkeep agent (after its hello, port60_hello.h) to
// the TLS syslog listener. Internal to server/net: names Asio.
#pragma once

#include <memory>

#include "server/net/byte_stream.h"

namespace trailkeep {

struct AdoptedConnection {
  std::unique_ptr<ByteStream> stream;
  ChannelIdentity identity;  // its tunnel names the [[tunnel]] node it came through
};

}  // namespace trailkeep
