// ExportFieldCheck: does an exported event (docs/event-schema.md) show what
// its signed bytes say? Part of `trailkeep verify --export`.
//
// The chain's MAC covers an agent event's raw bytes; the parsed keys an
// export also shows (msg, hostname, severity, structured_data, ...) are what
// a SIEM or an auditor reads, so each must be re-derived and compared. For an
// event with a chain (its `chain` key, or a chain element in its raw bytes)
// Check() parses `raw_b64` again exactly as the collector did: ParseSyslog
// with the exported receive_time, ApplyChainElement under the exported
// enterprise_number (32473 when an older export lacks it), audit_member as
// the pipeline marks it, the store's UTF-8 normalisation, EventToJson; then
// compares every key of kDerivedKeys, and `host` with HOSTNAME.
//
// A grouped auditd event (`audit` set, no chain of its own) is rebuilt with
// BuildAuditEvent from the record lines of its raw bytes, and each record is
// matched by chain_seq with an authenticated member event seen earlier in the
// export (same host; members are committed before their group): the same
// bytes, or a difference is reported. A record whose seq is 0 (port 60) or
// below every seq the export holds (its member is older than the export)
// cannot be matched and is counted as not covered.
//
// Not covered, because the collector derives them and the agent never signed
// them (a later store seal covers them): ingest_seq, receive_time, peer,
// transport, integrity, refs, description, hostname_mismatch,
// sender_identity, the audit interpretation
// (records' fields, complete, identity_map, a node named by name_format), and
// `host` of an event without HOSTNAME. Coverage counts what was and was not
// covered, for the summary line. Unsigned events are not covered at all.
//
// One instance per host. Pure code; not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep::agent {

// One key whose exported value differs from what the signed bytes give.
struct FieldDiff {
  std::string where;     // "epoch=E seq=S", "audit node=N serial=S"
  std::string field;     // "msg", "audit.records[1].text"
  std::string exported;  // JSON of the export's value, "(absent)" when missing
  std::string source;    // what says otherwise: "signed message", "member seq=5 (line 7)"
  std::string derived;   // JSON of the value the signed bytes give
};

struct FieldCoverage {
  uint64_t events = 0;                 // chained events compared
  uint64_t groups = 0;                 // grouped audit events compared
  uint64_t records_matched = 0;        // grouped records matched with a signed member
  uint64_t records_unmatched = 0;      // ... whose member cannot be in the export (seq 0 or older)
  uint64_t host_unsigned = 0;          // chained events without HOSTNAME: `host` is the channel's
  uint64_t time_inferred = 0;          // event_time taken (in part) from receive_time
  std::set<std::string> unknown_keys;  // keys this version does not know
};

// The store's normalisation of text fields, applied to a re-parsed event
// before it is rendered and compared (exports show stored events).
void NormaliseAsStored(v1::Event* event);

// An exported member's value as a finding line shows it: compact JSON,
// invalid UTF-8 replaced, cut after 160 characters; "(absent)" for nullptr.
std::string ShowExportedValue(const nlohmann::json* v);

class ExportFieldCheck {
 public:
  enum class Kind { kUnsigned, kChained, kGrouped };

  // `key`: the host's raw HMAC key, to authenticate audit member events.
  explicit ExportFieldCheck(std::string key);
  // Another key of the host (a retired one): members under it count too.
  void AddKey(std::string key) { other_keys_.push_back(std::move(key)); }

  // One exported event and its decoded raw_b64, at `line` of the file.
  // Appends every differing key to *diffs; returns what kind of event it was
  // (kUnsigned: nothing compared).
  Kind Check(const nlohmann::json& event, const std::string& raw, uint64_t line,
             std::vector<FieldDiff>* diffs);

  const FieldCoverage& coverage() const { return coverage_; }

 private:
  using Digest = std::array<unsigned char, 16>;
  struct Member {
    Digest text;
    uint64_t line;
  };

  Kind CheckChained(const nlohmann::json& event, const std::string& raw, uint64_t line,
                    std::vector<FieldDiff>* diffs);
  void CheckGrouped(const nlohmann::json& event, const std::string& raw,
                    std::vector<FieldDiff>* diffs);
  void NoteKeys(const nlohmann::json& event);
  Digest DigestOf(std::string_view text) const;

  std::string key_;
  std::vector<std::string> other_keys_;
  // Authenticated audit member events by chain seq (of any epoch: a grouped
  // record names only the seq).
  std::unordered_map<uint64_t, std::vector<Member>> members_;
  uint64_t lowest_seq_ = UINT64_MAX;  // of the chained events seen
  FieldCoverage coverage_;
};

}  // namespace trailkeep::agent
