// GET /v1/tail (docs/api.md): a live tail of matching events as NDJSON.
// Subscribe first, then read the store up to its last seq S (the backlog or
// the catch-up from the cursor, in pages, on the read pool), then send live
// events with seq > S: every event committed before the subscription is in
// the store by then, and live events the store phase already covered are
// skipped, so there is neither a gap nor a duplicate. Heartbeats show the
// resume cursor; a subscriber that falls behind gets a `missed` line and the
// end. After a token reload each open tail checks its token again.
// Internal to server/sinks.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "server/sinks/export_request.h"

namespace trailkeep {

namespace v1 {
class Event;
}
class ApiSession;
class TailSubscriber;
struct TailPage;

class TailStream {
 public:
  explicit TailStream(ApiSession& session) : s_(session) {}
  ~TailStream();

  void Start(const QueryParams& params);

 private:
  void ReadStore(bool catch_up, uint64_t from);
  void OnPage(std::shared_ptr<TailPage> page);
  void Pump();
  void Overflowed(uint64_t missed);
  std::string HeartbeatLine() const;
  void ArmHeartbeat();
  void WatchPeer();
  void Write(std::function<void()> next);
  void Register(std::function<void()> recheck);
  void Unregister();
  void RecheckAccess();
  void EndRevoked();
  void End(bool graceful);

  ApiSession& s_;
  TailRequest req_;
  std::shared_ptr<TailSubscriber> sub_;
  bool counted_ = false;
  uint64_t id_ = 0;           // in server.tail_rechecks while not 0
  bool revoked_ = false;      // the token no longer grants the tail: send nothing more
  bool revoke_sent_ = false;  // ... but the line that says so
  bool live_ = false;         // the store phase is over: events come from sub_
  bool writing_ = false;      // one chunk write at a time
  bool done_ = false;
  uint64_t pos_ = 0;   // every matching event with seq <= pos_ has been sent
  uint64_t seen_ = 0;  // highest seq the hub published to us (matching or not)
  std::deque<std::shared_ptr<const v1::Event>> pending_;  // taken, not yet formatted
  std::string buf_;
  std::optional<boost::asio::steady_timer> heartbeat_;
  char peer_byte_[1] = {};
};

}  // namespace trailkeep
