#include "server/pipeline/audit_grouping.h"

#include <algorithm>

#include "common/audit/audit_record.h"
#include "common/base/endpoint.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

void MarkAuditMembers(std::vector<v1::Event>* events) {
  for (auto& e : *events) {
    if (audit::IsChannelAuditRecord(e)) e.set_audit_member(true);
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
    } else {
      TakeInventoryLocked(e);
    }
  }
  Emit(&closed, now_us, out);
}

bool AuditGrouping::TakeInventory(const v1::Event& e) {
  std::lock_guard<std::mutex> lock(mu_);
  return TakeInventoryLocked(e);
}

bool AuditGrouping::TakeInventoryLocked(const v1::Event& e) {
  if (e.peer().bound_host().empty() || !audit::IsInventoryEvent(e.app_name(), e.msgid())) {
    return false;
  }
  auto ids = audit::IdentityMap::FromInventoryJson(e.msg());
  if (!ids.ok()) return false;  // stored as it is; the old map stays
  sources_[e.host()].ids = std::make_shared<const audit::IdentityMap>(std::move(ids).value());
  ++stats_.identity_maps;
  return true;
}

void AuditGrouping::SetListenerNaming(const std::string& bound_address, audit::NodeNaming naming) {
  std::lock_guard<std::mutex> lock(mu_);
  listener_naming_[bound_address] = std::move(naming);
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
    v1::Event& e = out->emplace_back();
    audit::BuildAuditEvent(g, src.ids.get(), g.node.empty() ? NodeFor(src) : "", &e);
    e.set_receive_time_us(now_us != 0 ? now_us : g.opened_us);
    e.set_transport(static_cast<v1::Transport>(src.transport));
    // Derived from records already judged (their chains, if any, are theirs);
    // it has no chain of its own.
    e.set_integrity(v1::INTEGRITY_UNSIGNED);
    if (src.peer) *e.mutable_peer() = *src.peer;
  }
}

std::string AuditGrouping::NodeFor(const Source& src) const {
  audit::NodeNaming naming = options_.naming;
  if (!src.peer) return audit::NodeName(naming, {});
  const v1::Peer& peer = *src.peer;
  if (auto l = listener_naming_.find(peer.listener()); l != listener_naming_.end()) {
    naming = l->second;
  }
  audit::NodeIdentity who;
  const auto tunnel = src.transport == v1::TRANSPORT_AUDIT_PORT60
                          ? options_.tunnels.find(peer.bound_host())
                          : options_.tunnels.end();
  if (tunnel != options_.tunnels.end()) {
    if (tunnel->second.naming) naming = *tunnel->second.naming;
    who = {peer.bound_host(), tunnel->second.host, tunnel->second.host};
  } else {
    who.name = peer.bound_host();
    if (!who.name.empty()) {
      const auto& dns = peer.cert_dns_names();
      auto fq = std::find_if(dns.begin(), dns.end(),
                             [](const std::string& n) { return n.find('.') != n.npos; });
      if (fq != dns.end()) who.fqdn = *fq;
    }
    who.address = AddressOfEndpoint(peer.address());
  }
  return audit::NodeName(naming, who);
}

Result<size_t> RestoreIdentityMaps(const Store& store, int64_t now_us, AuditGrouping* grouping) {
  std::vector<v1::HostState> hosts;
  if (Status s = store.ListHosts([&](const v1::HostState& h) { hosts.push_back(h); }); !s.ok()) {
    return s;
  }
  constexpr int64_t kFirstWindowUs = 3'600'000'000;  // an hour, then 4x wider each step
  size_t restored = 0;
  std::vector<uint64_t> blocks;
  std::vector<v1::Event> events;
  for (const v1::HostState& h : hosts) {
    // Only trailkeep agents send inventories, and every agent chains its
    // events; legacy senders (which may be large) are not read at all.
    if (h.chain_epoch() == 0) continue;
    bool found = false;
    // From the host's last event even when the clock stepped back since.
    int64_t until = std::max(now_us, h.last_seen_us()), window = kFirstWindowUs;
    while (!found && until >= h.first_seen_us()) {
      const int64_t since = std::max(h.first_seen_us(), until - window);
      blocks.clear();
      Status s = store.ScanHostBlocks(h.id(), since, until, [&](uint64_t seq) {
        blocks.push_back(seq);
        return true;
      });
      if (!s.ok()) return s;
      for (auto b = blocks.rbegin(); !found && b != blocks.rend(); ++b) {
        if (s = store.ReadBlock(*b, &events); !s.ok()) return s;
        for (auto e = events.rbegin(); !found && e != events.rend(); ++e) {
          found = e->host() == h.name() && grouping->TakeInventory(*e);
        }
      }
      until = since - 1;
      window = std::min<int64_t>(window * 4, INT64_MAX / 8);
    }
    restored += found ? 1 : 0;
  }
  return restored;
}

}  // namespace trailkeep
