// ChainAuditor: re-verifies one host's stored HMAC chain from scratch, as a
// third party would (docs/formats/hmac_chain.md; docs/design.md, 'Tamper
// evidence').
//
// Feed it the host's events in stored order with Add(), then call Finish().
// For each chained event (chain_epoch != 0, or raw bytes that carry a chain
// element) it re-parses `raw` with ParseSyslog + ExtractChain, checks that the
// stored chain fields equal what the message says, and checks the MAC under
// the host key. Authentic events are kept per epoch as (seq, MAC prefix,
// previous-MAC prefix); Finish() then reports, as merged seq ranges:
//
//   bad_mac      the MAC does not verify, or the stored fields disagree with
//                the message, or the message's chain element is malformed
//   gap          seqs between 1 and the highest authentic seq (or a verified
//                heartbeat's head) with no stored event at all
//   broken_link  p of s differs from m of s-1 though both are authentic (or
//                s = 1 has a non-zero p)
//   conflict     two authentic events with the same (e, s) and different MACs
//   duplicate    the same (e, s) with the same MAC stored more than once
//
// A seq that holds only unauthentic events is reported as bad_mac, not as a
// gap: something is stored there, and it is evidence.
//
// Key rotation: given the host's retired keys too (AddKey), an event is
// authenticated under the key its tkkey element names, else under the first
// key that verifies it; Finish() then walks the authentic events in chain
// order through a KeySchedule (common/chain/key_schedule.h), exactly as the
// collector does, and reports an event under a key not in force at its seq
// as bad_mac ("retired_key: ...").
//
// Memory: 32 bytes per authentic event (MACs are compared by their first 8
// bytes once authenticated: every such value is an HMAC output under the
// key, so an accidental prefix match has probability 2^-64 per comparison).
//
// Pure code: no I/O. Not thread-safe; one auditor per host.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/wire/hmac_chain.h"

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

enum class ChainIssueKind { kBadMac, kGap, kBrokenLink, kConflict, kDuplicate };

// "bad_mac", "gap", "broken_link", "conflict", "duplicate".
const char* ChainIssueKindName(ChainIssueKind kind);

// One broken range of one epoch: seqs first_seq..last_seq (inclusive).
struct ChainIssue {
  ChainIssueKind kind = ChainIssueKind::kBadMac;
  uint64_t epoch = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  std::string detail;  // of the range's first seq
};

struct ChainAuditResult {
  uint64_t events = 0;           // events fed to Add()
  uint64_t chained = 0;          // chain members checked
  uint64_t verified = 0;         // chain members whose MAC and fields verified
  uint64_t unsigned_events = 0;  // events without a chain element
  uint64_t heartbeats = 0;       // heartbeat messages (not chain members)
  uint64_t epochs = 0;           // distinct epochs seen
  // Ordered by epoch, then first_seq, then kind.
  std::vector<ChainIssue> issues;

  bool clean() const { return issues.empty(); }
};

class ChainAuditor {
 public:
  // `key`: the host's raw HMAC key (32 bytes, as LoadHmacKey returns it).
  explicit ChainAuditor(std::string key, uint32_t enterprise_number = kDefaultEnterpriseNumber);
  // Another key of the host (a retired one). Call before Add().
  void AddKey(std::string key);

  // The enterprise number the next events were read with (an export carries
  // it per event); the constructor's until called.
  void SetEnterpriseNumber(uint32_t enterprise_number);

  // The host's retention cut (HostState.cut_chain_epoch / cut_chain_seq):
  // the chain up to this position expired by policy, so it is not a gap and
  // the first kept event's link is not checked. Call before Finish().
  void SetRetentionCut(uint64_t epoch, uint64_t seq) {
    cut_epoch_ = epoch;
    cut_seq_ = seq;
  }

  // Calls `fn(events fed so far)` after every `every` events (0 = never).
  void SetProgress(uint64_t every, std::function<void(uint64_t)> fn);

  // One stored event, in stored order.
  void Add(const v1::Event& event);

  // The verdict. The auditor is spent afterwards.
  ChainAuditResult Finish();

 private:
  // Authentic chain member: seq and the first 8 bytes of m and p.
  struct Member {
    uint64_t seq;
    uint64_t mac;
    uint64_t prev;
    uint16_t key = 0;        // index in keys_
    bool announces = false;  // it names its key (tkkey)
  };
  enum class BadReason : uint8_t {
    kMac,
    kFieldsDiffer,
    kNoElement,
    kMalformed,
    kUnsignedStored,
    kHeartbeat,
    kUnknownKey,
    kRetiredKey,
    kKeyNotInForce
  };
  struct Bad {
    uint64_t seq;
    BadReason reason;
  };
  struct Epoch {
    std::vector<Member> members;
    std::vector<Bad> bad;
    uint64_t heartbeat_head = 0;      // highest head seq of a verified heartbeat
    uint64_t heartbeat_head_mac = 0;  // its MAC prefix
  };

  Epoch& EpochOf(uint64_t epoch);
  void AddBad(uint64_t epoch, uint64_t seq, BadReason reason);
  static const char* BadReasonText(BadReason reason);
  void FinishEpoch(uint64_t epoch, Epoch* state, std::vector<ChainIssue>* out);
  // Moves members under a key not in force at their seq to the bad ones.
  void ApplyKeySchedule();
  // Index in keys_ of the key the event's MAC verifies under, or -1.
  int Authenticate(std::string_view raw, const ChainFields& f) const;

  std::vector<std::pair<std::string, std::string>> keys_;  // (id, key), the current first
  uint32_t enterprise_number_ = 0;
  std::string chain_marker_;  // "[tk@PEN " : raw bytes worth re-parsing when unsigned
  std::string heartbeat_marker_;
  uint64_t progress_every_ = 0;
  std::function<void(uint64_t)> progress_;
  std::map<uint64_t, Epoch> epochs_;
  uint64_t last_epoch_ = 0;
  Epoch* last_state_ = nullptr;
  uint64_t cut_epoch_ = 0;  // SetRetentionCut
  uint64_t cut_seq_ = 0;
  ChainAuditResult result_;
};

// Output lines shared by `trailkeepd verify` and `trailkeep verify`:
//   "gap epoch=E seqs 41-57: no stored event"   (one seq: "seq 41")
std::string FormatChainIssue(const ChainIssue& issue);
//   "OK 50 events" (+ " (3 unsigned events not chained)") when clean, else
//   "BROKEN: 2 ranges (1 gap, 1 bad_mac); 48 of 50 chained events verified"
std::string FormatChainSummary(const ChainAuditResult& result);

}  // namespace trailkeep
