// AuditGrouper: gathers the records of one audit event, keyed by
// (host, node, serial), into one group; several events of one host may be
// open at once (records interleave). A group closes when
//   - its EOE record arrives, or its only record is a single-record type
//     (IsSingleRecordType): complete;
//   - it has been open for `timeout_us` (Expire) or is the oldest when more
//     than `max_open` are open: incomplete, with what arrived.
// Every record is kept byte-exact, in arrival order. Time is passed in, so
// the class is deterministic and tests need no clock.
//
// Concurrency: not thread-safe; the caller serialises access.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/audit/audit_record.h"

namespace trailkeep::audit {

struct GroupMember {
  std::string text;        // the record line
  uint64_t chain_seq = 0;  // of the event that carried it, 0 when none
};

struct AuditGroup {
  std::string host;  // the collector's host of the records
  std::string node;  // node= of the first record, "" when none
  uint64_t serial = 0;
  int64_t opened_us = 0;
  bool complete = false;
  std::vector<GroupMember> records;
};

struct AuditGrouperOptions {
  int64_t timeout_us = 2'000'000;  // auditd's own end_of_event_timeout is 2 s
  size_t max_open = 65536;
};

class AuditGrouper {
 public:
  explicit AuditGrouper(AuditGrouperOptions options = {}) : options_(options) {}

  // Adds `record` (parsed from member.text) of `host`; appends the groups it
  // closes to *closed.
  void Add(std::string_view host, const AuditRecord& record, GroupMember member, int64_t now_us,
           std::vector<AuditGroup>* closed);
  // Closes the groups open for at least timeout_us.
  void Expire(int64_t now_us, std::vector<AuditGroup>* closed);
  // Closes every open group (shutdown, end of input).
  void Flush(std::vector<AuditGroup>* closed);

  size_t open() const { return open_.size(); }

 private:
  static std::string KeyOf(std::string_view host, std::string_view node, uint64_t serial);
  void Close(const std::string& key, bool complete, std::vector<AuditGroup>* closed);

  AuditGrouperOptions options_;
  std::unordered_map<std::string, AuditGroup> open_;
  // Keys in opening order; keys of groups already closed are skipped lazily.
  std::deque<std::pair<int64_t, std::string>> order_;
};

}  // namespace trailkeep::audit
