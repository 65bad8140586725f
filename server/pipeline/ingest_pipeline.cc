#include "server/pipeline/ingest_pipeline.h"

#include "common/base/endpoint.h"
#include "common/syslog/syslog_parser.h"
#include "common/wire/hmac_chain.h"
#include "server/pipeline/agent_registry.h"
#include "server/pipeline/audit_grouping.h"
#include "server/pipeline/audit_remote_records.h"
#include "server/pipeline/hmac_keyring.h"
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
    case ConnectionEventKind::kAgentRefused:
      return SelfEventKind::kAgentRefused;
  }
  return SelfEventKind::kFramingError;
}

}  // namespace

std::string AgentHostOf(const v1::Peer& peer,
                        const std::vector<std::pair<std::string, std::string>>& host_map) {
  std::vector<std::string> ids(peer.cert_dns_names().begin(), peer.cert_dns_names().end());
  // Read from the parsed certificate at the handshake, never from the
  // subject's text, where "CN=" can sit inside another attribute's value.
  if (!peer.cert_common_name().empty()) ids.push_back(peer.cert_common_name());
  for (const auto& id : ids) {
    for (const auto& [identity, host] : host_map) {
      if (identity == id) return host;
    }
  }
  return ids.empty() ? "" : ids.front();
}

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

void IngestPipeline::EnableAgents(AgentIngestOptions options) { agents_ = std::move(options); }

void IngestPipeline::CheckChain(v1::Event* e) const {
  const ChainFields f = ApplyChainElement(agents_.enterprise_number, e);
  if (f.kind == ChainKind::kNone) return;
  if (!f.error.empty()) {
    // A malformed element authenticates nothing: evidence, flagged.
    e->set_integrity(v1::INTEGRITY_BAD_MAC);
    return;
  }
  auto key = agents_.keys != nullptr ? agents_.keys->Get(e->host()) : nullptr;
  if (!key) {
    e->set_integrity(v1::INTEGRITY_NO_KEY);
  } else {
    e->set_integrity(VerifyMessageMac(*key, e->raw(), f) ? v1::INTEGRITY_VERIFIED
                                                         : v1::INTEGRITY_BAD_MAC);
  }
}

bool IngestPipeline::HostBindingHolds(const v1::Event& e, const v1::Peer& peer) {
  if (e.hostname() == peer.bound_host()) return true;
  const std::string why = "HOSTNAME \"" + e.hostname() + "\" does not match the host \"" +
                          peer.bound_host() + "\" of the agent's certificate; connection refused";
  ReportConnectionEvent(ConnectionEventKind::kAgentRefused, peer, why);
  if (agents_.registry != nullptr) {
    if (auto link = agents_.registry->Find(peer.bound_host())) link->Close(why);
  }
  return false;
}

bool IngestPipeline::Offer(std::vector<RawFrame>* frames) {
  if (has_room_ && !has_room_()) return false;
  std::vector<v1::Event> events;
  events.reserve(frames->size());
  uint64_t fallbacks = 0;
  size_t taken = 0;
  for (RawFrame& f : *frames) {
    v1::Event& e = events.emplace_back();
    ParseSyslog(f.bytes, f.receive_time_us, &e);
    const bool bound = !f.peer->bound_host().empty();
    if (bound && !HostBindingHolds(e, *f.peer)) {
      // Refused: this frame and the rest of the connection's batch are not
      // stored; the connection is closing and nothing of it was acknowledged.
      events.pop_back();
      break;
    }
    ++taken;
    if (!e.parse_error().empty()) ++fallbacks;
    e.set_receive_time_us(f.receive_time_us);
    e.set_transport(v1::TRANSPORT_TLS_SYSLOG);
    e.set_integrity(v1::INTEGRITY_UNSIGNED);
    *e.mutable_peer() = *f.peer;
    e.set_host(bound ? f.peer->bound_host() : SourceHostOf(e, *f.peer));
    e.set_raw(std::move(f.bytes));
    CheckChain(&e);
  }
  frames->resize(taken);  // a refused frame and those after it are not retried
  // An agent's audit records are classified once grouped (audit_grouping.h).
  MarkAuditMembers(&events);
  if (rules_ != nullptr) rules_->Classify(&events);
  if (!offer_(&events)) {
    // Full: give the bytes back so the session can retry the same frames.
    for (size_t i = 0; i < taken; ++i) {
      (*frames)[i].bytes = std::move(*events[i].mutable_raw());
    }
    return false;
  }
  parsed_.fetch_add(frames->size(), std::memory_order_relaxed);
  fallbacks_.fetch_add(fallbacks, std::memory_order_relaxed);
  frames->clear();
  return true;
}

bool IngestPipeline::OfferAuditRecords(std::vector<RawFrame>* frames,
                                       std::function<void()> on_durable) {
  if (!offer_durable_ || (has_room_ && !has_room_())) return false;
  std::vector<v1::Event> events(frames->size());
  for (size_t i = 0; i < frames->size(); ++i) {
    RawFrame& f = (*frames)[i];
    MakeAuditRemoteEvent(std::move(f.bytes), f.receive_time_us, *f.peer, &events[i]);
    // The channel vouches that these are auditd records: grouped after
    // commit (audit_grouping.h) and classified as groups.
    if (events[i].parse_error().empty()) events[i].set_audit_member(true);
  }
  if (rules_ != nullptr) rules_->Classify(&events);
  if (!offer_durable_(&events, std::move(on_durable))) {
    for (size_t i = 0; i < frames->size(); ++i) {
      (*frames)[i].bytes = std::move(*events[i].mutable_raw());
    }
    return false;
  }
  parsed_.fetch_add(frames->size(), std::memory_order_relaxed);
  frames->clear();
  return true;
}

void IngestPipeline::ReportConnectionEvent(ConnectionEventKind kind, const v1::Peer& peer,
                                           const std::string& reason) {
  std::vector<std::pair<std::string, std::string>> fields = {{"reason", reason}};
  if (!peer.cert_subject().empty()) fields.emplace_back("cert_subject", peer.cert_subject());
  if (!peer.cert_sha256().empty()) fields.emplace_back("cert_sha256", peer.cert_sha256());
  if (!peer.listener().empty()) fields.emplace_back("listener", peer.listener());
  if (!peer.tunnel().empty()) fields.emplace_back("tunnel", peer.tunnel());
  self_audit_->Record(KindOf(kind), peer.address(), reason, fields);
}

std::string IngestPipeline::BindAgent(const v1::Peer& peer, std::shared_ptr<AgentLink> link,
                                      std::string* why) {
  std::string host;
  if (!peer.authenticated()) {
    *why = "trailkeep/1 requires a verified client certificate";
  } else if ((host = AgentHostOf(peer, agents_.host_map)).empty()) {
    *why = "the agent's certificate names no host (no DNS name or CN)";
  } else if (!peer.tunnel().empty() && host != peer.tunnel()) {
    // Through a tunnel only the node it leads to may speak (docs/tunnels.md).
    *why = "the agent's certificate names host " + host + " but it came through the tunnel to " +
           peer.tunnel();
    host.clear();
  }
  if (host.empty()) {
    ReportConnectionEvent(ConnectionEventKind::kAgentRefused, peer, *why);
    return "";
  }
  if (agents_.registry != nullptr) agents_.registry->Register(host, link);
  if (agents_.request_resume) agents_.request_resume(host, link);
  return host;
}

void IngestPipeline::UnbindAgent(const std::string& host, const AgentLink* link) {
  if (agents_.registry != nullptr) agents_.registry->Unregister(host, link);
}

}  // namespace trailkeep
