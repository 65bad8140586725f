// IngestPipeline: the IngestSink of the syslog and port-60 sources. Each
// batch runs the ingest stages in this order, each once, on the calling I/O
// thread (so connections parse in parallel):
//   1. ParseStage        frame -> Event (parse_stage.h)
//   2. HostBindingStage  the host, from the channel and the claimed HOSTNAME;
//                        a refusal closes the agent's connection; a legacy
//                        sender's event for a host its certificate does not
//                        speak for is marked, or dropped and recorded
//                        (hostname_binding, legacy_host_rules.h)
//   3. MacCheckStage     an agent event's chain element and MAC (syslog only)
//   4. ClassifyStage     NDcPP references, the whole batch at once
// then offers the batch to the committer, which alone orders and stores
// (its commit stages: server/store/committer.h). Connection events are
// connection_audit.h's; agents bind to their hosts in agent_binding.h.
// Plaintext (UDP/TCP) senders' events take their transport from the peer,
// their host from plain_source_host.h (through the binding stage), and
// never a chain (nothing authenticates them).
//
// Concurrency: thread-safe; holds no locks of its own.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics/counter_registry.h"
#include "server/net/ingest.h"
#include "server/pipeline/host_binding_stage.h"
#include "server/pipeline/mac_check_stage.h"
#include "server/pipeline/parse_stage.h"
#include "server/pipeline/plain_source_host.h"

namespace trailkeep {

class AgentRegistry;
class HmacKeyring;
class ClassifyStage;

struct AgentIngestOptions {
  HmacKeyring* keys = nullptr;  // must outlive the pipeline
  // A refused agent's connection is closed through it; must outlive the pipeline.
  AgentRegistry* registry = nullptr;
  uint32_t enterprise_number = 32473;
};

class IngestPipeline final : public IngestSink {
 public:
  // `offer` hands parsed events to the committer with the batch's
  // on_durable (may be empty); false means full.
  using OfferFn = std::function<bool(std::vector<v1::Event>*, std::function<void()>)>;
  // Whether `offer` is likely to accept now; checked before parsing so a
  // full queue costs no parsing work on every retry.
  using HasRoomFn = std::function<bool()>;

  // `reports` (where a refused agent is recorded) and `classify` (may be
  // null: no classification) must outlive the pipeline.
  IngestPipeline(OfferFn offer, ConnectionReporter* reports, HasRoomFn has_room = nullptr,
                 const ClassifyStage* classify = nullptr);
  // Call before any connection is accepted.
  void EnableAgents(AgentIngestOptions options);

  // Events of the plaintext listeners (peer.transport UDP/TCP syslog) are
  // filed under the host `hosts` decides; they never carry a chain (nothing
  // authenticates them). Call before the plaintext listeners start.
  void EnablePlainSyslog(PlainSourceHosts hosts) { binding_.SetPlainHosts(std::move(hosts)); }
  // Legacy TLS senders' host policy (hostname_binding); without it, "flag"
  // on every listener. Call before the syslog listener starts.
  void SetLegacyHostRules(LegacyHostRules rules) { binding_.SetLegacyRules(std::move(rules)); }

  bool Offer(IngestBatch* batch, std::function<void()> on_durable) override;

  uint64_t events_parsed() const { return parsed_.load(std::memory_order_relaxed); }
  uint64_t parse_fallbacks() const { return fallbacks_.load(std::memory_order_relaxed); }
  // Legacy events stored with hostname_mismatch, and dropped under "refuse".
  uint64_t hostname_mismatches() const {
    return hostname_mismatches_.load(std::memory_order_relaxed);
  }
  uint64_t hostnames_refused() const { return hostnames_refused_.load(std::memory_order_relaxed); }

  // Publishes these counts in `metrics` (GET /metrics: events_parsed_total,
  // parse_fallbacks_total, syslog_hostname_mismatch_total,
  // syslog_hostname_refused_total) for as long as the pipeline lives; `metrics` must
  // outlive it. Call once, before any connection is accepted.
  void RegisterCounters(CounterRegistry& metrics);

 private:
  OfferFn offer_;
  ConnectionReporter* reports_;
  HasRoomFn has_room_;
  const ClassifyStage* classify_;
  AgentIngestOptions agents_;
  const ParseStage parse_{};
  HostBindingStage binding_;  // configured before the first Offer
  MacCheckStage mac_check_;
  // Records the refusal and closes the agent's connection.
  void RefuseAgent(const v1::Peer& peer, const std::string& why);
  std::atomic<uint64_t> parsed_{0};
  std::atomic<uint64_t> fallbacks_{0};
  std::atomic<uint64_t> hostname_mismatches_{0};
  std::atomic<uint64_t> hostnames_refused_{0};
  CounterRegistry::Registration metrics_;  // reads the counts above: declared after them
};

}  // namespace trailkeep
