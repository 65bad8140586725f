// AuditGrouping: the collector's auditd grouping and enrichment
// (common/audit/), fed with committed events.
//
// Which records: only those whose provenance the channel vouches for
// (IsChannelAuditRecord): APP-NAME "auditd" with an audit record as MSG, from
// an agent's audit input (a bound trailkeep/1 connection) or from auditd's
// remote-logging protocol (transport AUDIT_PORT60, a stock audisp-remote
// node). Text that merely looks like a record, from any other sender, stays
// a plain syslog event. The pipeline marks such events audit_member before commit:
// each is stored as it arrived (its chain is evidence) and left unclassified.
//
// After commit, OnCommitted() groups the members by (host, node, serial); a
// closed group becomes one more event (audit_event.h) carrying every record
// byte-exact with its interpretation, which is then classified and stored.
// Grouping after commit means a resent record the chain verifier dropped is
// never grouped twice. A group still open at a crash is lost (its records are
// stored); Flush() at shutdown stores the open ones as incomplete.
//
// Identity maps: an agent's inventory event (identity_map.h) replaces its
// host's map; until one arrives, ids stay numbers, marked unresolved. Maps
// live in memory: after a restart they are known again when each agent
// sends its inventory (at its start and on every change).
//
// Concurrency: thread-safe (one mutex): the committer thread calls
// OnCommitted, a timer calls Expire.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/audit/audit_event.h"
#include "common/audit/audit_grouper.h"
#include "common/audit/identity_map.h"

namespace trailkeep::v1 {
class Event;
class Peer;
}  // namespace trailkeep::v1

namespace trailkeep {

struct AuditGroupingOptions {
  audit::AuditGrouperOptions grouper;
  // node= for records without one (auditd's name_format).
  audit::NameFormat name_format = audit::NameFormat::kHostname;
  std::string user_node_name;  // for name_format user
};

struct AuditGroupingStats {
  uint64_t groups_complete = 0;
  uint64_t groups_incomplete = 0;  // closed by the timeout, the bound or shutdown
  uint64_t identity_maps = 0;      // inventory events taken
};

// Whether `e` is an audit record its channel vouches for (see above);
// cheap: field checks first, then the record header.
bool IsChannelAuditRecord(const v1::Event& e);
// Sets audit_member on those events.
void MarkAuditMembers(std::vector<v1::Event>* events);

class AuditGrouping {
 public:
  explicit AuditGrouping(AuditGroupingOptions options);
  ~AuditGrouping();  // Source holds a v1::Peer, complete only in the .cc

  // Takes the members and inventories of a committed batch; appends the
  // grouped events it closes to *out.
  void OnCommitted(const std::vector<v1::Event>& committed, int64_t now_us,
                   std::vector<v1::Event>* out);
  // Groups open for the timeout or longer.
  void Expire(int64_t now_us, std::vector<v1::Event>* out);
  // Every open group (shutdown).
  void Flush(std::vector<v1::Event>* out);

  AuditGroupingStats stats() const;

 private:
  struct Source {
    // The channel of the host's last member: the grouped event carries it.
    std::unique_ptr<v1::Peer> peer;
    int transport = 0;  // v1::Transport
    std::shared_ptr<const audit::IdentityMap> ids;
  };
  void Emit(std::vector<audit::AuditGroup>* closed, int64_t now_us, std::vector<v1::Event>* out);

  const AuditGroupingOptions options_;
  mutable std::mutex mu_;
  audit::AuditGrouper grouper_;                      // GUARDED_BY(mu_)
  std::unordered_map<std::string, Source> sources_;  // GUARDED_BY(mu_), by host
  AuditGroupingStats stats_;                         // GUARDED_BY(mu_)
};

}  // namespace trailkeep
