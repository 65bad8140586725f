// IngestPipeline: the IngestSink of the syslog sources. It parses each frame
// into an Event (RFC 5424 / RFC 3164), decides the source host, keeps the raw
// bytes and the peer, classifies it by NDcPP SFR reference, and offers the
// batch to the committer. Parsing runs on
// the calling I/O thread, so connections parse in parallel; the committer
// alone orders and stores. Connection events become SelfAudit events.
//
// Source host (docs/design.md, 'Source host'): for legacy senders the
// message's HOSTNAME; when the message has none, the authenticated
// certificate's first DNS name, else the peer's address.
//
// Agent events (docs/design.md, 'The agent chain'): a chained event's MAC is
// checked here, on the I/O thread, with the host's key (integrity VERIFIED,
// BAD_MAC or NO_KEY); sequence and continuity are the ChainVerifier's, at
// commit. On a trailkeep/1 connection the host is the certificate's identity
// and a HOSTNAME that disagrees is refused and recorded.
//
// Concurrency: thread-safe; holds no locks of its own.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/net/ingest.h"

namespace trailkeep {

class AgentRegistry;
class HmacKeyring;
class RulesHolder;
class SelfAudit;

struct AgentIngestOptions {
  HmacKeyring* keys = nullptr;        // must outlive the pipeline
  AgentRegistry* registry = nullptr;  // must outlive the pipeline
  // Queues the Resume answer for a newly bound connection (after the frames
  // already offered).
  std::function<void(const std::string& host, std::weak_ptr<AgentLink>)> request_resume;
  std::vector<std::pair<std::string, std::string>> host_map;  // identity -> host
  uint32_t enterprise_number = 32473;
};

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
  // Call before any connection is accepted.
  void EnableAgents(AgentIngestOptions options);
  // Port-60 records go through `offer_durable` (the committer's Offer with a
  // callback once durable). Call before the port-60 listener starts.
  using OfferDurableFn = std::function<bool(std::vector<v1::Event>*, std::function<void()>)>;
  void EnableAuditRemote(OfferDurableFn offer_durable) {
    offer_durable_ = std::move(offer_durable);
  }

  bool Offer(std::vector<RawFrame>* frames) override;
  bool OfferAuditRecords(std::vector<RawFrame>* frames, std::function<void()> on_durable) override;
  void ReportConnectionEvent(ConnectionEventKind kind, const v1::Peer& peer,
                             const std::string& reason) override;
  std::string BindAgent(const v1::Peer& peer, std::shared_ptr<AgentLink> link,
                        std::string* why) override;
  void UnbindAgent(const std::string& host, const AgentLink* link) override;

  uint64_t events_parsed() const { return parsed_.load(std::memory_order_relaxed); }
  uint64_t parse_fallbacks() const { return fallbacks_.load(std::memory_order_relaxed); }

 private:
  OfferFn offer_;
  SelfAudit* self_audit_;
  HasRoomFn has_room_;
  const RulesHolder* rules_;
  AgentIngestOptions agents_;
  OfferDurableFn offer_durable_;
  // Checks the chain element of `e` (host already set) and fills its fields.
  void CheckChain(v1::Event* e) const;
  // False when a bound agent's event names another host (then refused).
  bool HostBindingHolds(const v1::Event& e, const v1::Peer& peer);
  std::atomic<uint64_t> parsed_{0};
  std::atomic<uint64_t> fallbacks_{0};
};

// The host an event is filed under (see above). Exposed for tests.
std::string SourceHostOf(const v1::Event& event, const v1::Peer& peer);
// The host an agent's certificate names: a host_map entry for one of its DNS
// names or its CN, else its first DNS name, else its CN; "" when none.
std::string AgentHostOf(const v1::Peer& peer,
                        const std::vector<std::pair<std::string, std::string>>& host_map);

}  // namespace trailkeep
