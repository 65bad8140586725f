// ChainVerifier: dedupe, sequence and continuity checks of agent chains
// (docs/formats/hmac_chain.md, 'Verification at the collector').
//
// It runs on the committer thread, on each batch just before it is stored,
// so one host's events are judged in arrival order against the state of
// everything committed before. The MAC itself was checked by the pipeline on
// the I/O threads: a chained event arrives with integrity VERIFIED (MAC good),
// BAD_MAC or NO_KEY, with the id of the key it verified under
// (chain_key_id). Prepare() then
//   - checks that key is in force at the event's seq (the host's
//     KeySchedule, common/chain/key_schedule.h, persisted in HostState):
//     an event naming a new key switches to it; one under a retired key is
//     turned into BAD_MAC ("retired_key: ..."),
//   - drops resent events already stored with the same MAC (counted), and
//     events at or before the host's retention cut (a replay: alarmed),
//   - keeps and flags everything else, setting AFTER_GAP / REPLAY,
//   - consumes heartbeats (chain heads), which are never stored,
//   - produces integrity events (gap, bad_mac, conflict, replay,
//     chain_restart, unknown_key, truncated_tail, broken_link, and
//     journal_loss for an agent's authentic JOURNAL_LOSS event) and the new
//     chain state of each touched host, for the same WriteBatch.
// State changes stay staged until Committed(); Failed() forgets them, so a
// retried commit is judged against the same state.
//
// Concurrency: not thread-safe; one thread (the committer's) uses it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/chain/key_schedule.h"
#include "server/store/committer.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

struct ChainHeadInfo {
  uint64_t epoch = 0;
  uint64_t contiguous_seq = 0;
  std::string head_mac;
};

class ChainVerifier final : public CommitStage {
 public:
  // `store` answers state and stored-MAC lookups; it must outlive this.
  explicit ChainVerifier(const Store* store);
  // Why `host` has no usable key (HmacKeyring::Get's why), for the detail of
  // its unknown_key alarm: "cannot read keys/web01.key: Permission denied"
  // must not read as a missing key. Unset: "no HMAC key for the host".
  void SetKeyProblem(std::function<std::string(const std::string& host)> why) {
    key_problem_ = std::move(why);
  }

  // Judges `events` in place (see above) and fills *extras.
  void Prepare(std::vector<v1::Event>* events, CommitExtras* extras) override;
  void Committed() override;
  void Failed() override;

  // Committed chain head of `host` (the Resume answer).
  ChainHeadInfo Head(const std::string& host);
  // Hosts whose contiguous seq changed in the last committed batch.
  const std::vector<std::pair<std::string, ChainHeadInfo>>& advanced() const { return advanced_; }

 private:
  struct HostChain {
    v1::HostState state;  // name + chain fields
    KeySchedule keys;     // state.key_schedule, ready to judge
    std::set<std::pair<uint64_t, std::string>> unknown_key_epochs;  // (epoch, key id named)
    uint64_t tail_reported_upto = 0;
  };
  HostChain* Staged(const std::string& host);
  HostChain* CommittedChain(const std::string& host);
  // Stored MAC of (epoch, seq): this batch first, then the store.
  std::optional<std::string> StoredMac(const std::string& host, uint64_t epoch, uint64_t seq);
  // Whether (epoch, seq) is at or before the chain position of the host's
  // newest event removed by retention (HostState.cut_chain_*): its record is
  // gone, so an event there is a replay of an expired one, not a late one.
  bool ExpiredByRetention(const std::string& host, uint64_t epoch, uint64_t seq) const;
  // Whether the key a VERIFIED event's MAC verifies under is in force at its
  // seq (recording a switch); "" when it is, else why not (the event is then
  // BAD_MAC).
  std::string JudgeKey(v1::Event* e, HostChain* h);
  // Returns false when the event is to be dropped.
  bool JudgeEvent(v1::Event* e, HostChain* h, CommitExtras* extras);
  void JudgeHeartbeat(const v1::Event& e, HostChain* h, CommitExtras* extras);
  void Alarm(CommitExtras* extras, HostChain* h, const std::string& kind, uint64_t epoch,
             uint64_t first, uint64_t last, int64_t time_us, std::string detail);

  std::string KeyProblem(const std::string& host, const std::string& key_id) const;

  const Store* store_;
  std::function<std::string(const std::string&)> key_problem_;
  std::unordered_map<std::string, HostChain> committed_;
  std::unordered_map<std::string, HostChain> staged_;  // copies touched by this batch
  std::map<std::tuple<std::string, uint64_t, uint64_t>, std::string> batch_macs_;
  std::vector<std::pair<std::string, ChainHeadInfo>> advanced_;
};

}  // namespace trailkeep
