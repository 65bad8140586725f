// RecordDeduper: drops port-60 records that are already stored.
//
// audisp-remote resends a record whose acknowledgement it did not get (a
// lost connection, a DISKFULL answer while the record was in fact being
// committed), and its sequence ids restart with every process, so they
// identify nothing. A record is identified by its content instead
// (docs/formats/audit_remote.md, 'Resends and restarts'): the key is the
// host and the SHA-256 of the record bytes as received; auditd's
// msg=audit(SECONDS.MILLIS:SERIAL) makes equal bytes from one host the same
// record. Keys go into the `dedupe` CF in the
// same WriteBatch as the record, so this survives restarts.
//
// Retention removes a host's keys with its events, so a resend can no longer
// be told by its key once its record expired. It is told by its time
// instead: a record whose audit time is before the host's retention cut
// (HostState.retention_cut_us) would have been cut too, so it is dropped and
// recorded as a `replay` integrity event rather than stored again.
//
// Concurrency: not thread-safe; the committer thread runs it as a CommitStage.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "server/store/committer.h"

namespace trailkeep {

class Store;

class RecordDeduper final : public CommitStage {
 public:
  explicit RecordDeduper(const Store* store) : store_(store) {}

  void Prepare(std::vector<v1::Event>* events, CommitExtras* extras) override;
  void Committed() override {}
  void Failed() override {}

  uint64_t dropped() const { return dropped_; }
  uint64_t expired_replays() const { return expired_replays_; }

  // The dedupe key of a record of `host` (exposed for tests).
  static std::string KeyOf(const std::string& host, const std::string& raw);

 private:
  // The host's retention cut (0: never cut), read once per batch and host.
  int64_t CutOf(const std::string& host, std::unordered_map<std::string, int64_t>* cuts) const;

  const Store* store_;
  uint64_t dropped_ = 0;
  uint64_t expired_replays_ = 0;
};

// Runs several stages in order on each batch.
class CommitStageChain final : public CommitStage {
 public:
  explicit CommitStageChain(std::vector<CommitStage*> stages) : stages_(std::move(stages)) {}
  void Prepare(std::vector<v1::Event>* events, CommitExtras* extras) override {
    for (CommitStage* s : stages_) s->Prepare(events, extras);
  }
  void Committed() override {
    for (CommitStage* s : stages_) s->Committed();
  }
  void Failed() override {
    for (CommitStage* s : stages_) s->Failed();
  }

 private:
  std::vector<CommitStage*> stages_;
};

}  // namespace trailkeep
