#include "common/chain/chain_audit.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/chain/key_schedule.h"
#include "common/syslog/syslog_parser.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

// First 8 bytes of a MAC as an integer (0 when shorter: never authentic).
uint64_t Prefix(std::string_view mac) {
  if (mac.size() < 8) return 0;
  uint64_t v = 0;
  std::memcpy(&v, mac.data(), 8);
  return v;
}

bool SameLink(const ChainLink& a, uint64_t epoch, uint64_t seq, std::string_view prev,
              std::string_view mac) {
  return a.epoch == epoch && a.seq == seq && a.prev_mac == prev && a.mac == mac;
}

// Sorts a per-epoch issue list and merges adjacent or overlapping seqs of
// one kind into ranges (keeping the first seq's detail).
void MergeRanges(std::vector<ChainIssue>* issues) {
  std::sort(issues->begin(), issues->end(), [](const ChainIssue& a, const ChainIssue& b) {
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.first_seq < b.first_seq;
  });
  std::vector<ChainIssue> merged;
  for (auto& issue : *issues) {
    if (!merged.empty()) {
      ChainIssue& last = merged.back();
      if (last.kind == issue.kind && last.epoch == issue.epoch &&
          (issue.first_seq <= last.last_seq ||
           (last.last_seq != UINT64_MAX && issue.first_seq == last.last_seq + 1))) {
        last.last_seq = std::max(last.last_seq, issue.last_seq);
        continue;
      }
    }
    merged.push_back(std::move(issue));
  }
  *issues = std::move(merged);
}

}  // namespace

const char* ChainIssueKindName(ChainIssueKind kind) {
  switch (kind) {
    case ChainIssueKind::kBadMac:
      return "bad_mac";
    case ChainIssueKind::kGap:
      return "gap";
    case ChainIssueKind::kBrokenLink:
      return "broken_link";
    case ChainIssueKind::kConflict:
      return "conflict";
    case ChainIssueKind::kDuplicate:
      return "duplicate";
  }
  return "unknown";
}

ChainAuditor::ChainAuditor(std::string key, uint32_t enterprise_number) {
  AddKey(std::move(key));
  SetEnterpriseNumber(enterprise_number);
}

void ChainAuditor::AddKey(std::string key) {
  std::string id = KeyId(key);
  for (const auto& k : keys_) {
    if (k.first == id) return;
  }
  keys_.emplace_back(std::move(id), std::move(key));
}

int ChainAuditor::Authenticate(std::string_view raw, const ChainFields& f) const {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (!f.key_id.empty() && keys_[i].first != f.key_id) continue;
    if (VerifyMessageMac(keys_[i].second, raw, f)) return static_cast<int>(i);
  }
  return -1;
}

void ChainAuditor::SetEnterpriseNumber(uint32_t enterprise_number) {
  if (enterprise_number == enterprise_number_ && !chain_marker_.empty()) return;
  enterprise_number_ = enterprise_number;
  chain_marker_ = "[" + ChainSdId(enterprise_number) + " ";
  heartbeat_marker_ = "[" + HeartbeatSdId(enterprise_number) + " ";
}

void ChainAuditor::SetProgress(uint64_t every, std::function<void(uint64_t)> fn) {
  progress_every_ = every;
  progress_ = std::move(fn);
}

ChainAuditor::Epoch& ChainAuditor::EpochOf(uint64_t epoch) {
  if (last_state_ == nullptr || last_epoch_ != epoch) {
    last_state_ = &epochs_[epoch];  // std::map: references stay valid
    last_epoch_ = epoch;
  }
  return *last_state_;
}

void ChainAuditor::AddBad(uint64_t epoch, uint64_t seq, BadReason reason) {
  EpochOf(epoch).bad.push_back({seq, reason});
}

const char* ChainAuditor::BadReasonText(BadReason reason) {
  switch (reason) {
    case BadReason::kMac:
      return "MAC does not verify";
    case BadReason::kFieldsDiffer:
      return "stored chain fields differ from the message's";
    case BadReason::kNoElement:
      return "stored as chained, but the message has no chain element";
    case BadReason::kMalformed:
      return "malformed chain element";
    case BadReason::kUnsignedStored:
      return "stored without chain fields, but the message carries a chain element";
    case BadReason::kHeartbeat:
      return "a heartbeat's MAC does not verify";
    case BadReason::kUnknownKey:
      return "the event names a key id none of the given keys has";
    case BadReason::kRetiredKey:
      return "retired_key: the MAC verifies under a key retired before this seq";
    case BadReason::kKeyNotInForce:
      return "key_not_in_force: the MAC verifies under a key not in force at this seq";
  }
  return "";
}

void ChainAuditor::Add(const v1::Event& event) {
  ++result_.events;
  const bool stored_chained = event.chain_epoch() != 0;
  const std::string_view raw = event.raw();
  // Unsigned events are re-parsed only when their bytes mention an element:
  // a chained message stored without its chain fields must not pass unseen.
  if (!stored_chained && raw.find(chain_marker_) == std::string_view::npos &&
      raw.find(heartbeat_marker_) == std::string_view::npos) {
    ++result_.unsigned_events;
  } else {
    v1::Event parsed;
    ParseSyslog(raw, event.receive_time_us(), &parsed);
    const ChainFields f = ExtractChain(parsed, enterprise_number_);
    if (f.kind == ChainKind::kHeartbeat) {
      ++result_.heartbeats;
      if (f.error.empty() && Authenticate(raw, f) >= 0) {
        Epoch& st = EpochOf(f.link.epoch);
        if (f.link.seq >= st.heartbeat_head) {
          st.heartbeat_head = f.link.seq;
          st.heartbeat_head_mac = Prefix(f.link.prev_mac);
        }
      } else if (f.link.epoch != 0) {
        AddBad(f.link.epoch, f.link.seq, BadReason::kHeartbeat);
      }
    } else if (f.kind == ChainKind::kNone) {
      if (stored_chained) {
        ++result_.chained;
        AddBad(event.chain_epoch(), event.chain_seq(), BadReason::kNoElement);
      } else {
        ++result_.unsigned_events;  // the marker was only text in the message
      }
    } else {
      ++result_.chained;
      const uint64_t epoch = stored_chained ? event.chain_epoch() : f.link.epoch;
      const uint64_t seq = stored_chained ? event.chain_seq() : f.link.seq;
      if (!f.error.empty()) {
        AddBad(epoch, seq, BadReason::kMalformed);
      } else if (!stored_chained) {
        AddBad(epoch, seq, BadReason::kUnsignedStored);
      } else if (!SameLink(f.link, event.chain_epoch(), event.chain_seq(), event.chain_prev_mac(),
                           event.chain_mac())) {
        // Reported where the message (the evidence) says it belongs.
        AddBad(f.link.epoch, f.link.seq, BadReason::kFieldsDiffer);
      } else if (const int key = Authenticate(raw, f); key < 0) {
        const bool named_unknown =
            !f.key_id.empty() && std::none_of(keys_.begin(), keys_.end(),
                                              [&](const auto& k) { return k.first == f.key_id; });
        AddBad(epoch, seq, named_unknown ? BadReason::kUnknownKey : BadReason::kMac);
      } else {
        ++result_.verified;
        EpochOf(epoch).members.push_back({seq, Prefix(event.chain_mac()),
                                          Prefix(event.chain_prev_mac()),
                                          static_cast<uint16_t>(key), !f.key_id.empty()});
      }
    }
  }
  if (progress_every_ != 0 && progress_ && result_.events % progress_every_ == 0) {
    progress_(result_.events);
  }
}

void ChainAuditor::FinishEpoch(uint64_t epoch, Epoch* st, std::vector<ChainIssue>* out) {
  std::vector<ChainIssue> issues;
  auto add = [&](ChainIssueKind kind, uint64_t first, uint64_t last, std::string detail) {
    issues.push_back({kind, epoch, first, last, std::move(detail)});
  };
  auto& m = st->members;
  std::stable_sort(m.begin(), m.end(),
                   [](const Member& a, const Member& b) { return a.seq < b.seq; });

  // Same seq stored more than once; links between consecutive seqs.
  size_t prev_begin = 0, prev_end = 0;
  for (size_t i = 0; i < m.size();) {
    size_t j = i;
    while (j < m.size() && m[j].seq == m[i].seq) ++j;
    const uint64_t s = m[i].seq;
    if (j - i > 1) {
      std::vector<uint64_t> macs;
      for (size_t k = i; k < j; ++k) macs.push_back(m[k].mac);
      std::sort(macs.begin(), macs.end());
      const size_t distinct = std::unique(macs.begin(), macs.end()) - macs.begin();
      if (distinct > 1) {
        add(ChainIssueKind::kConflict, s, s,
            std::to_string(distinct) + " authentic events with different MACs");
      } else {
        add(ChainIssueKind::kDuplicate, s, s,
            "the same event stored " + std::to_string(j - i) + " times");
      }
    }
    if (s == 1) {
      for (size_t k = i; k < j; ++k) {
        if (m[k].prev != 0) {
          add(ChainIssueKind::kBrokenLink, s, s, "the first event of the epoch has a non-zero p");
          break;
        }
      }
    } else if (prev_end > prev_begin && m[prev_begin].seq == s - 1) {
      bool linked = false;
      for (size_t k = i; k < j && !linked; ++k) {
        for (size_t q = prev_begin; q < prev_end && !linked; ++q) linked = m[k].prev == m[q].mac;
      }
      if (!linked) add(ChainIssueKind::kBrokenLink, s, s, "p differs from the MAC of seq s-1");
    }
    prev_begin = i;
    prev_end = j;
    i = j;
  }

  const uint64_t max_seq = m.empty() ? 0 : m.back().seq;
  const uint64_t head = std::max(max_seq, st->heartbeat_head);
  // A verified heartbeat naming another MAC for a stored head.
  if (st->heartbeat_head != 0 && st->heartbeat_head <= max_seq) {
    auto range = std::equal_range(m.begin(), m.end(), Member{st->heartbeat_head, 0, 0},
                                  [](const Member& a, const Member& b) { return a.seq < b.seq; });
    if (range.first != range.second &&
        std::none_of(range.first, range.second,
                     [&](const Member& x) { return x.mac == st->heartbeat_head_mac; })) {
      add(ChainIssueKind::kBrokenLink, st->heartbeat_head, st->heartbeat_head,
          "a verified heartbeat names another MAC for this seq");
    }
  }

  // Gaps: seqs 1..head with nothing stored (unauthentic events count as
  // stored: they are reported as bad_mac instead).
  auto& bad = st->bad;
  std::stable_sort(bad.begin(), bad.end(),
                   [](const Bad& a, const Bad& b) { return a.seq < b.seq; });
  // Up to the retention cut the chain expired by policy: no gap there.
  uint64_t expected = 1;
  if (epoch < cut_epoch_) expected = head + 1;
  if (epoch == cut_epoch_) expected = cut_seq_ + 1;
  size_t mi = 0, bi = 0;
  while (expected <= head && (mi < m.size() || bi < bad.size())) {
    uint64_t next;
    if (bi >= bad.size() || (mi < m.size() && m[mi].seq <= bad[bi].seq)) {
      next = m[mi++].seq;
    } else {
      next = bad[bi++].seq;
    }
    if (next > head) break;
    if (next > expected) add(ChainIssueKind::kGap, expected, next - 1, "no stored event");
    if (next >= expected) expected = next + 1;
  }
  if (expected <= head && head != 0) {
    add(ChainIssueKind::kGap, expected, head,
        "missing at the tail: a verified heartbeat names seq " +
            std::to_string(st->heartbeat_head) + " as the chain head");
  }
  for (const Bad& b : bad) add(ChainIssueKind::kBadMac, b.seq, b.seq, BadReasonText(b.reason));

  MergeRanges(&issues);
  out->insert(out->end(), std::make_move_iterator(issues.begin()),
              std::make_move_iterator(issues.end()));
}

void ChainAuditor::ApplyKeySchedule() {
  KeySchedule schedule;
  for (auto& [epoch, st] : epochs_) {  // std::map: chain order
    auto& m = st.members;
    std::stable_sort(m.begin(), m.end(),
                     [](const Member& a, const Member& b) { return a.seq < b.seq; });
    size_t kept = 0;
    for (const Member& x : m) {
      const KeyVerdict v = schedule.Apply(epoch, x.seq, keys_[x.key].first, x.announces);
      if (KeyAccepted(v)) {
        m[kept++] = x;
        continue;
      }
      --result_.verified;
      st.bad.push_back(
          {x.seq, v == KeyVerdict::kRetired ? BadReason::kRetiredKey : BadReason::kKeyNotInForce});
    }
    m.resize(kept);
  }
}

ChainAuditResult ChainAuditor::Finish() {
  ApplyKeySchedule();
  ChainAuditResult r = std::move(result_);
  r.epochs = 0;
  for (auto& [epoch, st] : epochs_) {
    if (!st.members.empty() || !st.bad.empty()) ++r.epochs;
    FinishEpoch(epoch, &st, &r.issues);
  }
  std::stable_sort(r.issues.begin(), r.issues.end(), [](const ChainIssue& a, const ChainIssue& b) {
    if (a.epoch != b.epoch) return a.epoch < b.epoch;
    if (a.first_seq != b.first_seq) return a.first_seq < b.first_seq;
    return a.kind < b.kind;
  });
  epochs_.clear();
  last_state_ = nullptr;
  result_ = ChainAuditResult{};
  return r;
}

std::string FormatChainIssue(const ChainIssue& issue) {
  std::string line = ChainIssueKindName(issue.kind);
  line += " epoch=" + std::to_string(issue.epoch);
  if (issue.first_seq == issue.last_seq) {
    line += " seq " + std::to_string(issue.first_seq);
  } else {
    line += " seqs " + std::to_string(issue.first_seq) + "-" + std::to_string(issue.last_seq);
  }
  if (!issue.detail.empty()) line += ": " + issue.detail;
  return line;
}

std::string FormatChainSummary(const ChainAuditResult& r) {
  std::string extra;
  auto note = [&extra](uint64_t n, const char* what) {
    if (n == 0) return;
    extra += extra.empty() ? " (" : ", ";
    extra += std::to_string(n) + " " + what;
  };
  note(r.unsigned_events,
       r.unsigned_events == 1 ? "unsigned event, not chained" : "unsigned events, not chained");
  note(r.heartbeats, r.heartbeats == 1 ? "heartbeat" : "heartbeats");
  if (r.epochs > 1) note(r.epochs, "epochs");
  if (!extra.empty()) extra += ")";
  if (r.issues.empty()) return "OK " + std::to_string(r.verified) + " events" + extra;

  std::map<std::string, uint64_t> kinds;
  for (const auto& i : r.issues) ++kinds[ChainIssueKindName(i.kind)];
  std::string by_kind;
  for (const auto& [name, n] : kinds) {
    by_kind += (by_kind.empty() ? "" : ", ") + std::to_string(n) + " " + name;
  }
  return "BROKEN: " + std::to_string(r.issues.size()) +
         (r.issues.size() == 1 ? " range (" : " ranges (") + by_kind + "); " +
         std::to_string(r.verified) + " of " + std::to_string(r.chained) +
         " chained events verified" + extra;
}

}  // namespace trailkeep
