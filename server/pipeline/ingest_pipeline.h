// IngestPipeline: the IngestSink of the syslog sources. It parses each frame
// into an Event (RFC 5424 / RFC 3164), decides the source host, keeps the raw
// bytes and the peer, classifies it by NDcPP SFR reference, and offers the
// batch to the committer. Parsing runs on
// the calling I/O thread, so connections parse in parallel; the committer
// alone orders and stores. Connection events become SelfAudit events.
//
// Source host (design.md section 4): for legacy senders the message's
// HOSTNAME; when the message has none, the authenticated certificate's first
// DNS name, else the peer's address.
//
// Concurrency: thread-safe; holds no locks of its own.
#pragma once

#include <atomic>
#include <functional>

#include "server/net/ingest.h"

namespace trailkeep {

class RulesHolder;
class SelfAudit;

class IngestPipeline final : public IngestSink {
 public:
  // `offer` hands parsed events to the committer; false means full.
  using OfferFn = std::function<bool(std::vector<v1::Event>*)>;
  // Whether `offer` is likely to accept now; checked before parsing so a
  // full queue costs no parsing work on every retry.
  using HasRoomFn = std::function<bool()>;

  // `rules` (may be null: no classification) must outlive the pipeline.
  IngestPipeline(OfferFn offer, SelfAudit* self_audit, HasRoomFn has_room = nullptr,
                 const RulesHolder* rules = nullptr);
  bool Offer(std::vector<RawFrame>* frames) override;
  void ReportConnectionEvent(ConnectionEventKind kind, const v1::Peer& peer,
                             const std::string& reason) override;

  uint64_t events_parsed() const { return parsed_.load(std::memory_order_relaxed); }
  uint64_t parse_fallbacks() const { return fallbacks_.load(std::memory_order_relaxed); }

 private:
  OfferFn offer_;
  SelfAudit* self_audit_;
  HasRoomFn has_room_;
  const RulesHolder* rules_;
  std::atomic<uint64_t> parsed_{0};
  std::atomic<uint64_t> fallbacks_{0};
};

// The host an event is filed under (see above). Exposed for tests.
std::string SourceHostOf(const v1::Event& event, const v1::Peer& peer);

}  // namespace trailkeep
