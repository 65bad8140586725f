#include "server/pipeline/ingest_pipeline.h"

#include "common/base/endpoint.h"
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
  uint64_t fallbacks = 0;
  size_t taken = 0;
  for (RawFrame& f : frames) {
    v1::Event& e = events.emplace_back();
    parse_.Parse(format, &f, &e);
    HostVerdict bound = binding_.Bind({format, *f.peer, f.peer->listener(), e.hostname()});
    if (!bound.refused.empty()) {
      // Refused: this frame and the rest of the connection's batch are not
      // stored; the connection is closing and nothing of it was acknowledged.
      RefuseAgent(*f.peer, bound.refused);
      events.pop_back();
      break;
    }
    ++taken;
    e.set_host(std::move(bound.host));
    if (format == FrameFormat::kSyslog && !e.parse_error().empty()) ++fallbacks;
    if (const auto plain = f.peer->transport(); plain != v1::TRANSPORT_UNSPECIFIED) {
      e.set_transport(plain);
      e.set_host(plain_hosts_.HostOf(AddressOfEndpoint(f.peer->address()), e.hostname()));
    } else if (format == FrameFormat::kSyslog) {
      mac_check_.Check(&e);
    }
  }
  frames.resize(taken);  // a refused frame and those after it are not retried
  if (classify_ != nullptr) classify_->Classify(&events);
  if (!offer_(&events, std::move(on_durable))) {
    // Full: give the bytes back so the session can retry the same frames.
    for (size_t i = 0; i < taken; ++i) frames[i].bytes = std::move(*events[i].mutable_raw());
    return false;
  }
  parsed_.fetch_add(taken, std::memory_order_relaxed);
  fallbacks_.fetch_add(fallbacks, std::memory_order_relaxed);
  frames.clear();
  return true;
}

void IngestPipeline::RegisterCounters(CounterRegistry& metrics) {
  metrics_ = metrics.Register({
      CounterOf("events_parsed_total", "events the ingest pipeline parsed and handed to the store",
                parsed_),
      CounterOf("parse_fallbacks_total",
                "syslog frames that did not parse cleanly (stored with a parse_error)", fallbacks_),
  });
}

void IngestPipeline::RefuseAgent(const v1::Peer& peer, const std::string& why) {
  reports_->ReportConnectionEvent(ConnectionEventKind::kAgentRefused, peer, why);
  if (agents_.registry != nullptr) {
    if (auto link = agents_.registry->Find(peer.bound_host())) link->Close(why);
  }
}

}  // namespace trailkeep
