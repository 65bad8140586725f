#include "server/pipeline/audit_grouping.h"

#include "common/audit/audit_record.h"
#include "common/base/endpoint.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

bool IsChannelAuditRecord(const v1::Event& e) {
  const bool vouched =
      e.transport() == v1::TRANSPORT_AUDIT_PORT60 || !e.peer().bound_host().empty();
  if (!vouched || e.app_name() != "auditd") return false;
  audit::AuditRecord r;
  return audit::ParseAuditRecord(e.msg(), &r);
}

void MarkAuditMembers(std::vector<v1::Event>* events) {
  for (auto& e : *events) {
    if (IsChannelAuditRecord(e)) e.set_audit_member(true);
  }
}

AuditGrouping::AuditGrouping(AuditGroupingOptions options)
    : options_(std::move(options)), grouper_(options_.grouper) {}

AuditGrouping::~AuditGrouping() = default;

void AuditGrouping::OnCommitted(const std::vector<v1::Event>& committed, int64_t now_us,
                                std::vector<v1::Event>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<audit::AuditGroup> closed;
  for (const v1::Event& e : committed) {
    if (e.audit_member()) {
      audit::AuditRecord r;
      if (!audit::ParseAuditRecord(e.msg(), &r)) continue;
      Source& src = sources_[e.host()];
      if (!src.peer) src.peer = std::make_unique<v1::Peer>();
      *src.peer = e.peer();
      src.transport = e.transport();
      grouper_.Add(e.host(), r, audit::GroupMember{e.msg(), e.chain_seq()}, now_us, &closed);
    } else if (!e.peer().bound_host().empty() && audit::IsInventoryEvent(e.app_name(), e.msgid())) {
      auto ids = audit::IdentityMap::FromInventoryJson(e.msg());
      if (!ids.ok()) continue;  // stored as it is; the old map stays
      sources_[e.host()].ids = std::make_shared<const audit::IdentityMap>(std::move(ids).value());
      ++stats_.identity_maps;
    }
  }
  Emit(&closed, now_us, out);
}

void AuditGrouping::Expire(int64_t now_us, std::vector<v1::Event>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<audit::AuditGroup> closed;
  grouper_.Expire(now_us, &closed);
  Emit(&closed, now_us, out);
}

void AuditGrouping::Flush(std::vector<v1::Event>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<audit::AuditGroup> closed;
  grouper_.Flush(&closed);
  Emit(&closed, 0, out);
}

AuditGroupingStats AuditGrouping::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void AuditGrouping::Emit(std::vector<audit::AuditGroup>* closed, int64_t now_us,
                         std::vector<v1::Event>* out) {
  for (const audit::AuditGroup& g : *closed) {
    ++(g.complete ? stats_.groups_complete : stats_.groups_incomplete);
    const Source& src = sources_[g.host];
    const std::string address = src.peer ? AddressOfEndpoint(src.peer->address()) : "";
    const std::string node =
        audit::NodeName(options_.name_format, g.host, address, options_.user_node_name);
    v1::Event& e = out->emplace_back();
    audit::BuildAuditEvent(g, src.ids.get(), node, &e);
    e.set_receive_time_us(now_us != 0 ? now_us : g.opened_us);
    e.set_transport(static_cast<v1::Transport>(src.transport));
    // Derived from records already judged (their chains, if any, are theirs);
    // it has no chain of its own.
    e.set_integrity(v1::INTEGRITY_UNSIGNED);
    if (src.peer) *e.mutable_peer() = *src.peer;
  }
}

}  // namespace trailkeep
