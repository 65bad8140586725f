// CollectorLink: the forwarder's connection to the collector (RFC 5425 over
// TLS with the trailkeep/1 acknowledgement extension, docs/formats/agent_wire.md).
//
// Connects to every address the collector's name resolves to in turn, with
// TLS 1.2+, the agent's client certificate, SNI = server_name, ALPN
// "trailkeep/1", and verifies the collector by CA (chain + server_name) and/or
// by the SHA-256 fingerprint of its certificate (pinned_sha256; with a pin
// alone, the pin is the whole check). Then:
//   - ALPN trailkeep/1 selected: reads the collector's Resume. Same epoch as
//     the spool: everything up to contiguous_seq is acknowledged and sending
//     starts after it; another, older or no epoch: sending starts at the
//     first spooled record. Acks of our epoch acknowledge the spool (which
//     deletes whole acknowledged segments); a Goodbye's reason is logged.
//     A Pause (the collector's disk is full) stops sending, connection and
//     spool kept, until the Proceed: no reconnect.
//   - not selected and acks = "required": the link logs why and retries
//     later; events stay spooled.
//   - not selected and acks = "none": best effort; a record counts as
//     acknowledged once written to the socket.
// Records are streamed in seq order as octet-counted frames, many per write;
// when caught up, and every heartbeat interval while connected, a signed
// heartbeat carries the chain head. Any error or close: reconnect after an
// exponential backoff with jitter between reconnect_min_ms and
// reconnect_max_ms (reset once a session got as far as streaming).
//
// Threading: everything runs on the io_context given to Create(), which must
// be run by one thread; Wake() and Stop() must be called from that thread.
// The Spool must outlive the link and is only touched from that thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "agent/agent_config.h"
#include "common/base/clock.h"
#include "common/base/status.h"

namespace boost::asio {
class io_context;
}

namespace trailkeep::agent {

class Spool;

inline constexpr char kAlpnProtocol[] = "trailkeep/1";

struct LinkOptions {
  CollectorConfig collector;
  std::string host;  // our HOSTNAME
  uint32_t enterprise_number = 32473;
  int heartbeat_interval_ms = 10000;
  std::string hmac_key;                // raw key bytes, of the spool's head (SetHeartbeatKey)
  ClockPtr clock = MakeSystemClock();  // heartbeats' timestamps
};

class CollectorLink {
 public:
  // Loads the TLS material (errors name the file).
  static Result<std::unique_ptr<CollectorLink>> Create(boost::asio::io_context& io,
                                                       LinkOptions options, Spool* spool);
  ~CollectorLink();

  void Start();
  // New records were appended to the spool.
  void Wake();
  // The key heartbeats are signed with from now on: the key of the spool's
  // head (the forwarder calls it once an event under a new key is spooled).
  void SetHeartbeatKey(std::string key);
  // Closes the connection and ends every pending operation.
  void Stop();

  struct Impl;

 private:
  explicit CollectorLink(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace trailkeep::agent
