#include "server/pipeline/chain_verifier.h"

#include <algorithm>

#include "common/wire/hmac_chain.h"

namespace trailkeep {
namespace {

constexpr int kMaxUnauthenticAhead = 1024;
const std::string kZeroMac(32, '\0');

}  // namespace

ChainVerifier::ChainVerifier(const Store* store) : store_(store) {}

ChainVerifier::HostChain* ChainVerifier::CommittedChain(const std::string& host) {
  auto it = committed_.find(host);
  if (it != committed_.end()) return &it->second;
  HostChain h;
  auto stored = store_->GetHostState(host);
  // A host state that cannot be read is judged as new: its events are kept
  // and any false alarm names the range, which beats refusing the batch.
  if (stored.ok() && stored.value()) h.state = *stored.value();
  h.state.set_name(host);
  std::vector<KeySwitch> switches;
  for (const auto& k : h.state.key_schedule()) switches.push_back({k.epoch(), k.seq(), k.key_id()});
  h.keys = KeySchedule(std::move(switches));
  return &committed_.emplace(host, std::move(h)).first->second;
}

ChainVerifier::HostChain* ChainVerifier::Staged(const std::string& host) {
  auto it = staged_.find(host);
  if (it != staged_.end()) return &it->second;
  return &staged_.emplace(host, *CommittedChain(host)).first->second;
}

bool ChainVerifier::ExpiredByRetention(const std::string& host, uint64_t epoch,
                                       uint64_t seq) const {
  auto hs = store_->GetHostState(host);
  if (!hs.ok() || !hs.value()) return false;
  const v1::HostState& st = *hs.value();
  return st.cut_chain_epoch() != 0 &&
         std::make_pair(epoch, seq) <= std::make_pair(st.cut_chain_epoch(), st.cut_chain_seq());
}

std::optional<std::string> ChainVerifier::StoredMac(const std::string& host, uint64_t epoch,
                                                    uint64_t seq) {
  auto it = batch_macs_.find({host, epoch, seq});
  if (it != batch_macs_.end()) return it->second;
  auto found = store_->FindChainMac(host, epoch, seq);
  if (!found.ok()) return std::nullopt;
  return found.value();
}

void ChainVerifier::Alarm(CommitExtras* extras, HostChain* h, const std::string& kind,
                          uint64_t epoch, uint64_t first, uint64_t last, int64_t time_us,
                          std::string detail) {
  auto& list = extras->integrity;
  // A flood of one kind at consecutive seqs is one range.
  if (!list.empty()) {
    v1::IntegrityEvent& prev = list.back();
    if (prev.host() == h->state.name() && prev.kind() == kind && prev.epoch() == epoch &&
        prev.last_seq() + 1 == first) {
      prev.set_last_seq(last);
      return;
    }
  }
  v1::IntegrityEvent& ie = list.emplace_back();
  ie.set_host(h->state.name());
  ie.set_kind(kind);
  ie.set_epoch(epoch);
  ie.set_first_seq(first);
  ie.set_last_seq(last);
  ie.set_time_us(time_us);
  ie.set_detail(std::move(detail));
  h->state.set_integrity_alarms(h->state.integrity_alarms() + 1);
}

namespace {

// The agent's own report that journal entries were vacuumed before it read
// them (agent/journal_loss.h): a loss at the source, raised like a gap. Only
// when its MAC verified: a forged one is already a bad_mac alarm.
bool IsAuthenticJournalLoss(const v1::Event& e) {
  if (e.integrity() != v1::INTEGRITY_VERIFIED && e.integrity() != v1::INTEGRITY_AFTER_GAP) {
    return false;
  }
  if (e.app_name() != "trailkeep" || e.msgid() != "JOURNAL_LOSS") return false;
  for (const auto& sd : e.structured_data()) {
    if (sd.id().rfind("tkloss@", 0) == 0) return true;
  }
  return false;
}

}  // namespace

void ChainVerifier::Prepare(std::vector<v1::Event>* events, CommitExtras* extras) {
  staged_.clear();
  batch_macs_.clear();
  std::vector<v1::Event> kept;
  kept.reserve(events->size());
  for (v1::Event& e : *events) {
    if (e.chain_heartbeat()) {
      JudgeHeartbeat(e, Staged(e.host()), extras);
      continue;
    }
    if (e.chain_epoch() == 0 || JudgeEvent(&e, Staged(e.host()), extras)) {
      if (IsAuthenticJournalLoss(e)) {
        Alarm(extras, Staged(e.host()), "journal_loss", e.chain_epoch(), e.chain_seq(),
              e.chain_seq(), e.receive_time_us(), e.msg());
      }
      kept.push_back(std::move(e));
    }
  }
  events->swap(kept);
  for (const auto& [host, h] : staged_) extras->chain_states.push_back(h.state);
}

void ChainVerifier::Committed() {
  advanced_.clear();
  for (auto& [host, h] : staged_) {
    HostChain* old = CommittedChain(host);
    if (old->state.chain_epoch() != h.state.chain_epoch() ||
        old->state.contiguous_seq() != h.state.contiguous_seq()) {
      advanced_.emplace_back(host, ChainHeadInfo{h.state.chain_epoch(), h.state.contiguous_seq(),
                                                 h.state.chain_head_mac()});
    }
    *old = std::move(h);
  }
  staged_.clear();
  batch_macs_.clear();
}

void ChainVerifier::Failed() {
  staged_.clear();
  batch_macs_.clear();
}

ChainHeadInfo ChainVerifier::Head(const std::string& host) {
  const v1::HostState& st = CommittedChain(host)->state;
  return {st.chain_epoch(), st.contiguous_seq(),
          st.contiguous_seq() != 0 ? st.chain_head_mac() : std::string()};
}

namespace {

// Starts chain `epoch` for the host: nothing of it is stored yet.
void StartEpoch(v1::HostState* st, uint64_t epoch) {
  st->set_chain_epoch(epoch);
  st->set_contiguous_seq(0);
  st->set_highest_seq(0);
  st->set_chain_head_mac(kZeroMac);
  st->set_agent_head_seq(0);
  auto* ahead = st->mutable_unauthentic_ahead();
  ahead->erase(std::remove_if(ahead->begin(), ahead->end(),
                              [epoch](const v1::ChainEntry& c) { return c.epoch() != epoch; }),
               ahead->end());
}

}  // namespace

std::string ChainVerifier::KeyProblem(const std::string& host, const std::string& key_id) const {
  if (!key_id.empty()) {
    return "unknown key id " + key_id + ": the event names a key keys_dir does not hold for " +
           host + " (neither " + host + ".key nor " + host + ".retired/" + key_id + ".key)";
  }
  std::string why = key_problem_ ? key_problem_(host) : "";
  return why.empty() ? "no HMAC key for the host in keys_dir" : why;
}

namespace {

// Whether the event carries the tkkey element (it announces its key).
bool NamesKey(const v1::Event& e) {
  const std::string id = KeySdId(e.enterprise_number());
  return std::any_of(e.structured_data().begin(), e.structured_data().end(),
                     [&](const v1::SdElement& el) { return el.id() == id; });
}

}  // namespace

std::string ChainVerifier::JudgeKey(v1::Event* e, HostChain* h) {
  const std::string& id = e->chain_key_id();
  const uint64_t epoch = e->chain_epoch(), seq = e->chain_seq();
  if (id.empty()) return "";
  // The common case first: the key in force, no element to look for.
  if (h->keys.Judge(epoch, seq, id, false) == KeyVerdict::kInForce) return "";
  const KeyVerdict v = h->keys.Apply(epoch, seq, id, NamesKey(*e));
  if (v == KeyVerdict::kFirst || v == KeyVerdict::kSwitch) {
    v1::KeySwitch* k = h->state.add_key_schedule();
    k->set_epoch(epoch);
    k->set_seq(seq);
    k->set_key_id(id);
  }
  if (KeyAccepted(v)) return "";
  e->set_integrity(v1::INTEGRITY_BAD_MAC);
  return h->keys.Explain(v, epoch, seq, id);
}

bool ChainVerifier::JudgeEvent(v1::Event* e, HostChain* h, CommitExtras* extras) {
  v1::HostState& st = h->state;
  const uint64_t epoch = e->chain_epoch();
  const uint64_t seq = e->chain_seq();
  const int64_t t = e->receive_time_us();
  const std::string& mac = e->chain_mac();

  std::string key_rejected;
  if (e->integrity() == v1::INTEGRITY_VERIFIED) key_rejected = JudgeKey(e, h);
  if (e->integrity() == v1::INTEGRITY_BAD_MAC) {
    // Not authentic: evidence, stored and flagged, but it says nothing about
    // the chain. Remembered so an authentic event at its seq is a conflict.
    Alarm(extras, h, "bad_mac", epoch, seq, seq, t,
          key_rejected.empty() ? "MAC does not verify under any of the host's keys" : key_rejected);
    if (epoch > st.chain_epoch() || (epoch == st.chain_epoch() && seq > st.contiguous_seq())) {
      auto* ahead = st.mutable_unauthentic_ahead();
      if (ahead->size() >= kMaxUnauthenticAhead) ahead->erase(ahead->begin());
      v1::ChainEntry* c = ahead->Add();
      c->set_epoch(epoch);
      c->set_seq(seq);
      c->set_mac(mac);
    }
    return true;
  }
  if (e->integrity() == v1::INTEGRITY_NO_KEY &&
      h->unknown_key_epochs.insert({epoch, e->chain_key_id()}).second) {
    Alarm(extras, h, "unknown_key", epoch, seq, seq, t,
          KeyProblem(st.name(), e->chain_key_id()) + ": its chained events are stored unverified");
  }
  if (epoch > st.chain_epoch()) {
    if (st.chain_epoch() != 0) {
      Alarm(extras, h, "chain_restart", epoch, seq, seq, t,
            "new epoch " + std::to_string(epoch) + " replaces epoch " +
                std::to_string(st.chain_epoch()) + " (contiguous to seq " +
                std::to_string(st.contiguous_seq()) + ")");
    }
    StartEpoch(&st, epoch);
    h->tail_reported_upto = 0;
  }
  if (epoch < st.chain_epoch() || (epoch == st.chain_epoch() && seq <= st.contiguous_seq())) {
    // Its record may have expired (retention): then nothing stored says
    // whether it is a copy, but it is older than the policy keeps, and
    // storing it again would undo the cut.
    if (ExpiredByRetention(st.name(), epoch, seq) && !StoredMac(st.name(), epoch, seq)) {
      Alarm(extras, h, "replay", epoch, seq, seq, t,
            "event at or before the retention cut (epoch " + std::to_string(epoch) + " seq " +
                std::to_string(seq) + "): its record expired; dropped");
      return false;
    }
  }
  if (epoch < st.chain_epoch()) {
    const auto stored = StoredMac(st.name(), epoch, seq);
    if (stored && *stored == mac) {
      st.set_duplicates_dropped(st.duplicates_dropped() + 1);
      Alarm(extras, h, "replay", epoch, seq, seq, t,
            "event of an older epoch sent again (already stored; dropped)");
      return false;
    }
    Alarm(extras, h, "replay", epoch, seq, seq, t,
          "event of older epoch " + std::to_string(epoch) + " (current " +
              std::to_string(st.chain_epoch()) + ")");
    e->set_integrity(v1::INTEGRITY_REPLAY);
    return true;
  }
  const bool verified = e->integrity() == v1::INTEGRITY_VERIFIED;
  if (seq <= st.contiguous_seq()) {
    const auto stored = StoredMac(st.name(), epoch, seq);
    if (stored && *stored == mac) {
      st.set_duplicates_dropped(st.duplicates_dropped() + 1);
      return false;
    }
    if (stored) {
      Alarm(extras, h, "conflict", epoch, seq, seq, t,
            "another authentic event is already stored at this seq");
      return true;
    }
    // Inside a gap recorded earlier: late, but the gap stays on record.
    if (verified) e->set_integrity(v1::INTEGRITY_AFTER_GAP);
    batch_macs_[{st.name(), epoch, seq}] = mac;
    return true;
  }
  auto* ahead = st.mutable_unauthentic_ahead();
  // Seqs below this one held only by bad-MAC events: already alarmed as
  // bad_mac, so they are not also a gap (but the link cannot be checked).
  uint64_t unauthentic_below = 0;
  for (const auto& c : *ahead) {
    if (c.epoch() == epoch && c.seq() > st.contiguous_seq() && c.seq() < seq) ++unauthentic_below;
  }
  for (auto it = ahead->begin(); it != ahead->end();) {
    if (it->epoch() == epoch && it->seq() <= seq) {
      if (it->seq() == seq && it->mac() != mac) {
        Alarm(extras, h, "conflict", epoch, seq, seq, t,
              "an event with a bad MAC was stored first at this seq; the authentic one is "
              "stored too");
      }
      it = ahead->erase(it);
    } else {
      ++it;
    }
  }
  if (seq > st.contiguous_seq() + 1) {
    const uint64_t first = st.contiguous_seq() + 1;
    // Newest events deleted before sending show first as a truncated tail
    // (from a heartbeat); the same range is not a second alarm.
    const bool covered = unauthentic_below >= seq - first || h->tail_reported_upto >= seq - 1;
    if (!covered) {
      Alarm(extras, h, "gap", epoch, first, seq - 1, t,
            std::to_string(seq - first) + " events missing before seq " + std::to_string(seq));
    }
    if (verified) e->set_integrity(v1::INTEGRITY_AFTER_GAP);
  } else if (e->chain_prev_mac() != st.chain_head_mac()) {
    Alarm(extras, h, "broken_link", epoch, seq, seq, t,
          "p does not equal the MAC of the stored seq " + std::to_string(seq - 1));
    if (verified) e->set_integrity(v1::INTEGRITY_AFTER_GAP);
  }
  st.set_contiguous_seq(seq);
  st.set_chain_head_mac(mac);
  st.set_highest_seq(std::max(st.highest_seq(), seq));
  batch_macs_[{st.name(), epoch, seq}] = mac;
  return true;
}

void ChainVerifier::JudgeHeartbeat(const v1::Event& e, HostChain* h, CommitExtras* extras) {
  v1::HostState& st = h->state;
  const uint64_t epoch = e.chain_epoch();
  const uint64_t head = e.chain_seq();
  const int64_t t = e.receive_time_us();
  if (e.integrity() == v1::INTEGRITY_BAD_MAC) {
    Alarm(extras, h, "bad_mac", epoch, head, head, t, "heartbeat MAC does not verify");
    return;
  }
  if (e.integrity() == v1::INTEGRITY_NO_KEY) {
    if (h->unknown_key_epochs.insert({epoch, e.chain_key_id()}).second) {
      Alarm(extras, h, "unknown_key", epoch, head, head, t,
            KeyProblem(st.name(), e.chain_key_id()) + ": its heartbeats cannot be checked");
    }
    return;
  }
  if (!e.chain_key_id().empty()) {
    // Signed with the key of the head it names; never a switch.
    const KeyVerdict v = h->keys.Judge(epoch, head, e.chain_key_id(), false);
    if (!KeyAccepted(v)) {
      Alarm(extras, h, "bad_mac", epoch, head, head, t,
            "heartbeat: " + h->keys.Explain(v, epoch, head, e.chain_key_id()));
      return;
    }
  }
  if (epoch < st.chain_epoch() || (epoch > st.chain_epoch() && head == 0)) return;  // stale
  if (epoch > st.chain_epoch()) {
    if (st.chain_epoch() != 0) {
      Alarm(extras, h, "chain_restart", epoch, head, head, t,
            "heartbeat of new epoch " + std::to_string(epoch) + " replaces epoch " +
                std::to_string(st.chain_epoch()));
    }
    StartEpoch(&st, epoch);
    h->tail_reported_upto = 0;
  }
  st.set_agent_head_seq(std::max(st.agent_head_seq(), head));
  st.set_last_heartbeat_us(t);
  if (head > st.contiguous_seq() && head > h->tail_reported_upto) {
    const uint64_t first = std::max(st.contiguous_seq(), h->tail_reported_upto) + 1;
    Alarm(extras, h, "truncated_tail", epoch, first, head, t,
          "the agent's chain head is seq " + std::to_string(head) + " but only seqs up to " +
              std::to_string(st.contiguous_seq()) + " arrived");
    h->tail_reported_upto = head;
  } else if (head != 0 && head == st.contiguous_seq() &&
             e.chain_prev_mac() != st.chain_head_mac()) {
    Alarm(extras, h, "conflict", epoch, head, head, t,
          "the heartbeat's head MAC differs from the stored event's");
  }
}

}  // namespace trailkeep
