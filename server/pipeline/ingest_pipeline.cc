#include "server/pipeline/ingest_pipeline.h"

#include "common/base/endpoint.h"
#include "common/syslog/syslog_parser.h"
#include "server/pipeline/rules_holder.h"
#include "server/selfaudit/self_audit.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

SelfEventKind KindOf(ConnectionEventKind k) {
  switch (k) {
    case ConnectionEventKind::kTlsHandshakeFailed:
      return SelfEventKind::kTlsHandshakeFailed;
    case ConnectionEventKind::kPeerNotPermitted:
      return SelfEventKind::kPeerNotPermitted;
    case ConnectionEventKind::kFramingError:
      return SelfEventKind::kFramingError;
    case ConnectionEventKind::kTruncatedFrame:
      return SelfEventKind::kTruncatedFrame;
    case ConnectionEventKind::kConnectionLimit:
      return SelfEventKind::kConnectionLimit;
  }
  return SelfEventKind::kFramingError;
}

}  // namespace

std::string SourceHostOf(const v1::Event& event, const v1::Peer& peer) {
  if (!event.hostname().empty()) return event.hostname();
  if (peer.authenticated() && peer.cert_dns_names_size() > 0) return peer.cert_dns_names(0);
  return AddressOfEndpoint(peer.address());
}

IngestPipeline::IngestPipeline(OfferFn offer, SelfAudit* self_audit, HasRoomFn has_room,
                               const RulesHolder* rules)
    : offer_(std::move(offer)),
      self_audit_(self_audit),
      has_room_(std::move(has_room)),
      rules_(rules) {}

bool IngestPipeline::Offer(std::vector<RawFrame>* frames) {
  if (has_room_ && !has_room_()) return false;
  std::vector<v1::Event> events;
  events.reserve(frames->size());
  uint64_t fallbacks = 0;
  for (RawFrame& f : *frames) {
    v1::Event& e = events.emplace_back();
    ParseSyslog(f.bytes, f.receive_time_us, &e);
    if (!e.parse_error().empty()) ++fallbacks;
    e.set_receive_time_us(f.receive_time_us);
    e.set_transport(v1::TRANSPORT_TLS_SYSLOG);
    e.set_integrity(v1::INTEGRITY_UNSIGNED);
    *e.mutable_peer() = *f.peer;
    e.set_host(SourceHostOf(e, *f.peer));
    e.set_raw(std::move(f.bytes));
  }
  if (rules_ != nullptr) rules_->Classify(&events);
  if (!offer_(&events)) {
    // Full: give the bytes back so the session can retry the same frames.
    for (size_t i = 0; i < frames->size(); ++i) {
      (*frames)[i].bytes = std::move(*events[i].mutable_raw());
    }
    return false;
  }
  parsed_.fetch_add(frames->size(), std::memory_order_relaxed);
  fallbacks_.fetch_add(fallbacks, std::memory_order_relaxed);
  frames->clear();
  return true;
}

void IngestPipeline::ReportConnectionEvent(ConnectionEventKind kind, const v1::Peer& peer,
                                           const std::string& reason) {
  std::vector<std::pair<std::string, std::string>> fields = {{"reason", reason}};
  if (!peer.cert_subject().empty()) fields.emplace_back("cert_subject", peer.cert_subject());
  if (!peer.cert_sha256().empty()) fields.emplace_back("cert_sha256", peer.cert_sha256());
  if (!peer.listener().empty()) fields.emplace_back("listener", peer.listener());
  self_audit_->Record(KindOf(kind), peer.address(), reason, fields);
}

}  // namespace trailkeep
