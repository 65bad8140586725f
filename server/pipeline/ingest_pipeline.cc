#include "server/pipeline/ingest_pipeline.h"

#include "server/pipeline/agent_registry.h"
#include "server/pipeline/classify_stage.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

IngestPipeline::IngestPipeline(OfferFn offer, ConnectionReporter* reports, HasRoomFn has_room,
                               const ClassifyStage* classify)
    : offer_(std::move(offer)),
      reports_(reports),
      has_room_(std::move(has_room)),
      classify_(classify) {}

void IngestPipeline::EnableAgents(AgentIngestOptions options) {
  agents_ = std::move(options);
  mac_check_ = MacCheckStage(agents_.keys, agents_.enterprise_number);
}

// The stages in their order, once each: parse, bind host to channel, MAC
// check (syslog frames: a port-60 record carries no chain element), then
// classify the batch.
bool IngestPipeline::Offer(IngestBatch* batch, std::function<void()> on_durable) {
  if (has_room_ && !has_room_()) return false;
  const FrameFormat format = batch->format;
  std::vector<RawFrame>& frames = batch->frames;
  std::vector<v1::Event> events;
  events.reserve(frames.size());
  std::vector<size_t> frame_of;  // events[k] was parsed from frames[frame_of[k]]
  frame_of.reserve(frames.size());
  // Legacy events refused by hostname_binding: recorded once the batch is
  // taken (a full sink gets the same frames again, and judges them again).
  struct Dropped {
    const v1::Peer* peer;
    std::string why;
    ConnectionFields fields;
  };
  std::vector<Dropped> dropped;
  uint64_t fallbacks = 0, mismatches = 0;
  size_t end = frames.size();
  for (size_t i = 0; i < end; ++i) {
    RawFrame& f = frames[i];
    v1::Event& e = events.emplace_back();
    parse_.Parse(format, &f, &e);
    HostVerdict bound = binding_.Bind({format, *f.peer, f.peer->listener(), e.hostname()});
    if (!bound.refused.empty()) {
      // Refused: this frame and the rest of the connection's batch are not
      // stored; the connection is closing and nothing of it was acknowledged.
      RefuseAgent(*f.peer, bound.refused);
      events.pop_back();
      end = i;
      break;
    }
    if (!bound.dropped.empty()) {
      // This event alone is not stored (hostname_binding = "refuse"); the
      // connection's other frames go on.
      dropped.push_back({f.peer.get(),
                         std::move(bound.dropped),
                         {{"hostname", e.hostname()}, {"sender_identity", bound.sender_identity}}});
      f.bytes = std::move(*e.mutable_raw());  // kept until the batch is taken
      events.pop_back();
      continue;
    }
    frame_of.push_back(i);
    e.set_host(std::move(bound.host));
    if (bound.hostname_mismatch) {
      ++mismatches;
      e.set_hostname_mismatch(true);
      e.set_sender_identity(std::move(bound.sender_identity));
    }
    if (format == FrameFormat::kSyslog && !e.parse_error().empty()) ++fallbacks;
    if (const auto plain = f.peer->transport(); plain != v1::TRANSPORT_UNSPECIFIED) {
      e.set_transport(plain);
    } else if (format == FrameFormat::kSyslog) {
      mac_check_.Check(&e);
    }
  }
  frames.resize(end);  // a refused agent's frame and those after it are not retried
  if (classify_ != nullptr) classify_->Classify(&events);
  if (!offer_(&events, std::move(on_durable))) {
    // Full: give the bytes back so the session can retry the same frames.
    for (size_t k = 0; k < events.size(); ++k) {
      frames[frame_of[k]].bytes = std::move(*events[k].mutable_raw());
    }
    return false;
  }
  for (const Dropped& d : dropped) {  // their peers live in `frames` until cleared
    reports_->ReportConnectionEvent(ConnectionEventKind::kHostnameRefused, *d.peer, d.why,
                                    d.fields);
  }
  parsed_.fetch_add(frame_of.size(), std::memory_order_relaxed);
  fallbacks_.fetch_add(fallbacks, std::memory_order_relaxed);
  hostname_mismatches_.fetch_add(mismatches, std::memory_order_relaxed);
  hostnames_refused_.fetch_add(dropped.size(), std::memory_order_relaxed);
  frames.clear();
  return true;
}

void IngestPipeline::RegisterCounters(CounterRegistry& metrics) {
  metrics_ = metrics.Register({
      CounterOf("events_parsed_total", "events the ingest pipeline parsed and handed to the store",
                parsed_),
      CounterOf("parse_fallbacks_total",
                "syslog frames that did not parse cleanly (stored with a parse_error)", fallbacks_),
      CounterOf("syslog_hostname_mismatch_total",
                "legacy syslog events stored with hostname_mismatch (hostname_binding = flag)",
                hostname_mismatches_),
      CounterOf("syslog_hostname_refused_total",
                "legacy syslog events dropped: HOSTNAME not the certificate's "
                "(hostname_binding = refuse)",
                hostnames_refused_),
  });
}

void IngestPipeline::RefuseAgent(const v1::Peer& peer, const std::string& why) {
  reports_->ReportConnectionEvent(ConnectionEventKind::kAgentRefused, peer, why);
  if (agents_.registry != nullptr) {
    if (auto link = agents_.registry->Find(peer.bound_host())) link->Close(why);
  }
}

}  // namespace trailkeep
