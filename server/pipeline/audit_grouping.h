// AuditGrouping: the collector's auditd grouping and enrichment
// (common/audit/), fed by AuditGroupingStage with each batch being committed.
//
// Which records: only those whose provenance the channel vouches for
// (IsChannelAuditRecord): APP-NAME "auditd" with an audit record as MSG, from
// an agent's audit input (a bound trailkeep/1 connection) or from auditd's
// remote-logging protocol (transport AUDIT_PORT60, a stock audisp-remote
// node). Text that merely looks like a record, from any other sender, stays
// a plain syslog event. The pipeline marks such events audit_member before commit:
// each is stored as it arrived (its chain is evidence) and left unclassified.
//
// OnCommitted() groups the members of a batch by (host, node, serial), once
// the commit stages that drop resends have judged it (audit_grouping_stage.h),
// so a resent record the chain verifier dropped is never grouped twice; a
// closed group becomes one more event (audit_event.h) carrying every record
// byte-exact with its interpretation, which is then classified and stored
// with the batch. A group still open at a crash is lost (its records are
// stored); Flush() at shutdown stores the open ones as incomplete.
//
// Identity maps: an agent's inventory event (identity_map.h) replaces its
// host's map; until one arrives, ids stay numbers, marked unresolved. Maps
// live in memory; at start-up RestoreIdentityMaps rebuilds them from the
// newest stored inventory event of each host (the stored events are the only
// copy), so a collector restart does not wait for every agent to restart.
//
// node= for records without one (node_name.h): the source's name_format is
// the [[tunnel]]'s for records through a tunnel, else the [[listen.audit]]
// listener's that accepted the connection, else [audit]'s.
//
// Concurrency: thread-safe (one mutex): the committer thread calls
// OnCommitted (through the stage), a timer calls Expire.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/audit/audit_event.h"
#include "common/audit/audit_grouper.h"
#include "common/audit/identity_map.h"
#include "common/audit/node_name.h"
#include "common/base/status.h"

namespace trailkeep::v1 {
class Event;
class Peer;
}  // namespace trailkeep::v1

namespace trailkeep {

class Store;

// A [[tunnel]] as the grouping sees it: records arriving through it carry
// its node name as Peer.bound_host.
struct AuditTunnelNode {
  std::string host;                         // the node's sshd host, as configured
  std::optional<audit::NodeNaming> naming;  // its own name_format, if set
};

struct AuditGroupingOptions {
  audit::AuditGrouperOptions grouper;
  // node= for records without one ([audit] name_format / name).
  audit::NodeNaming naming;
  std::map<std::string, AuditTunnelNode> tunnels;  // by node name
};

struct AuditGroupingStats {
  uint64_t groups_complete = 0;
  uint64_t groups_incomplete = 0;  // closed by the timeout, the bound or shutdown
  uint64_t identity_maps = 0;      // inventory events taken
};

// Sets audit_member on the events IsChannelAuditRecord (audit_event.h) takes.
void MarkAuditMembers(std::vector<v1::Event>* events);

class AuditGrouping {
 public:
  explicit AuditGrouping(AuditGroupingOptions options);
  ~AuditGrouping();  // Source holds a v1::Peer, complete only in the .cc

  // Takes the members and inventories of a batch about to be committed (the
  // stages that drop events have judged it); appends the grouped events it
  // closes to *out.
  void OnCommitted(const std::vector<v1::Event>& committed, int64_t now_us,
                   std::vector<v1::Event>* out);
  // Groups open for the timeout or longer.
  void Expire(int64_t now_us, std::vector<v1::Event>* out);
  // Every open group (shutdown).
  void Flush(std::vector<v1::Event>* out);

  // A [[listen.audit]] listener's own name_format, by the address it is
  // bound to (Peer.listener). Call before its first record is committed.
  void SetListenerNaming(const std::string& bound_address, audit::NodeNaming naming);
  // Takes an agent's inventory event (an event OnCommitted would take);
  // false when `e` is not one. RestoreIdentityMaps feeds stored ones here.
  bool TakeInventory(const v1::Event& e);

  AuditGroupingStats stats() const;

 private:
  struct Source {
    // The channel of the host's last member: the grouped event carries it.
    std::unique_ptr<v1::Peer> peer;
    int transport = 0;  // v1::Transport
    std::shared_ptr<const audit::IdentityMap> ids;
  };
  void Emit(std::vector<audit::AuditGroup>* closed, int64_t now_us, std::vector<v1::Event>* out);
  bool TakeInventoryLocked(const v1::Event& e);
  std::string NodeFor(const Source& src) const;

  const AuditGroupingOptions options_;
  mutable std::mutex mu_;
  audit::AuditGrouper grouper_;                               // GUARDED_BY(mu_)
  std::unordered_map<std::string, Source> sources_;           // GUARDED_BY(mu_), by host
  std::map<std::string, audit::NodeNaming> listener_naming_;  // GUARDED_BY(mu_)
  AuditGroupingStats stats_;                                  // GUARDED_BY(mu_)
};

// Start-up, before any record is committed: gives `grouping` the newest
// stored inventory event of every agent host in `store` (a host with a chain,
// HostState.chain_epoch != 0), searching its by_host index backwards from
// `now_us` in windows of 1 h, 4 h, 16 h... (a host whose agent sent its
// inventory recently costs a few block reads; one whose newest inventory is
// old costs reading its blocks back to it). Returns the number of hosts whose
// map was restored.
Result<size_t> RestoreIdentityMaps(const Store& store, int64_t now_us, AuditGrouping* grouping);

}  // namespace trailkeep
