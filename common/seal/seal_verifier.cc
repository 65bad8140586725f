#include "common/seal/seal_verifier.h"

#include <algorithm>
#include <charconv>

#include "common/base/bytes.h"
#include "common/base/glob.h"
#include "common/seal/seal_mac.h"

namespace trailkeep {

namespace {

// A parameter of the collector's own trailkeep@N element ("" when absent).
std::string Field(const v1::Event& e, std::string_view name) {
  for (const auto& sd : e.structured_data()) {
    if (sd.id().rfind("trailkeep@", 0) != 0) continue;
    for (const auto& p : sd.params()) {
      if (p.name() == name) return p.value();
    }
  }
  return "";
}

int64_t Number(const std::string& text, int64_t fallback) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && p == text.data() + text.size() && !text.empty() ? v : fallback;
}

bool IsSelf(const v1::Event& e, std::string_view msgid) {
  return e.transport() == v1::TRANSPORT_SELF && e.msgid() == msgid;
}

}  // namespace

bool SealVerifyResult::clean() const {
  return std::none_of(findings.begin(), findings.end(),
                      [](const SealFinding& f) { return f.failure; });
}

std::string FormatSealFinding(const SealFinding& f) {
  std::string out = f.kind + " host=" + f.host + " chain=" + std::to_string(f.chain);
  if (f.seal_seq != 0) {
    out += " seal_seq=" + std::to_string(f.seal_seq);
    if (f.seal_seq_end > f.seal_seq) out += "-" + std::to_string(f.seal_seq_end);
  }
  if (f.ingest_seq != 0) out += " ingest_seq=" + std::to_string(f.ingest_seq);
  return out + ": " + f.detail;
}

std::string FormatSealSummary(const SealVerifyResult& r) {
  const auto failures = std::count_if(r.findings.begin(), r.findings.end(),
                                      [](const SealFinding& f) { return f.failure; });
  std::string out = r.clean() ? "OK" : "BROKEN";
  out += " " + std::to_string(r.events) + " events, " + std::to_string(r.sealed) + " sealed in " +
         std::to_string(r.chains) + " host chains, " + std::to_string(r.ticks) + " ticks, " +
         std::to_string(failures) + " findings";
  if (r.unsealed_before_seal != 0) {
    out += ", " + std::to_string(r.unsealed_before_seal) + " events stored before sealing began";
  }
  return out;
}

int64_t SealVerifier::Policy::For(const std::string& host) const {
  for (const auto& [glob, us] : overrides) {
    if (GlobMatch(glob, host)) return us;
  }
  return default_us;
}

SealVerifier::SealVerifier(VerificationKey key, int64_t grace_us)
    : key_(std::move(key)), grace_us_(grace_us < 0 ? key_.schedule.period_us : grace_us) {
  keys_[0] = key_.k0;
}

const std::string& SealVerifier::KeyOf(uint64_t period) {
  auto it = keys_.upper_bound(period);
  --it;  // keys_[0] always exists
  if (it->first == period) return it->second;
  std::string k = it->second;
  for (uint64_t p = it->first; p < period; ++p) k = StepSealKey(k);
  return keys_.emplace(period, std::move(k)).first->second;
}

void SealVerifier::Add(const v1::Event& e) {
  ++result_.events;
  if (!e.has_seal()) {
    if (!seen_sealed_) {
      ++result_.unsealed_before_seal;
      return;
    }
    Report({"unsealed", e.host(), 0, 0, 0, e.ingest_seq(),
            "stored without a seal after sealing began (inserted, or stored by a collector "
            "running unsealed)"});
    return;
  }
  seen_sealed_ = true;
  ++result_.sealed;
  if (IsSelf(e, "SEAL_CHAIN_START")) {
    // Noted even when it does not verify: a chain under another key cannot.
    chain_keys_[static_cast<uint32_t>(Number(Field(e, "chain"), 0))] = Field(e, "key_id");
  }
  bool authentic = false;
  CheckSealed(e, &authentic);
  if (authentic && e.transport() == v1::TRANSPORT_SELF) NoteCollectorEvent(e);
}

void SealVerifier::CheckSealed(const v1::Event& e, bool* authentic) {
  const v1::SealElement& s = e.seal();
  const ChainKey ck{e.host(), s.chain()};
  auto [it, fresh] = chains_.try_emplace(ck);
  ChainState& st = it->second;
  SealFinding at{"", e.host(), s.chain(), s.seq(), 0, e.ingest_seq(), ""};
  std::optional<std::string> prev;
  if (fresh) {
    if (s.seq() == 1) {
      prev = std::string(kSealMacBytes, '\0');
    } else {
      st.unlinked_start = e;  // linked at Finish to a retention cut, if one ends there
    }
  } else if (s.seq() == st.last_seq + 1) {
    prev = st.last_mac;
  } else if (s.seq() > st.last_seq + 1) {
    at.kind = "missing";
    at.seal_seq = st.last_seq + 1;
    at.seal_seq_end = s.seq() - 1;
    at.detail = "not stored: between ingest_seq " + std::to_string(st.last_ingest) + " and " +
                std::to_string(e.ingest_seq()) + " (deleted, or a cut no sealed event records)";
    Report(at);
  } else {
    at.kind = "out_of_order";
    at.detail =
        "stored after seal_seq " + std::to_string(st.last_seq) + " (reordered, inserted or a copy)";
    // A swap shows as a one-seq gap that this event fills: say so once.
    auto& f = result_.findings;
    if (!f.empty() && f.back().kind == "missing" && f.back().host == e.host() &&
        f.back().chain == s.chain() && f.back().seal_seq == s.seq() &&
        f.back().seal_seq_end == s.seq()) {
      f.pop_back();
      at.detail = "swapped with seal_seq " + std::to_string(st.last_seq) + " (stored after it)";
    } else if (st.unlinked_start && s.seq() + 1 == st.unlinked_start->seal().seq()) {
      // The chain's start, stored after its successor: a swap, not a cut.
      at.detail = "swapped with seal_seq " + std::to_string(s.seq() + 1) + " (stored after it)";
      st.unlinked_start.reset();
    }
    Report(at);
  }
  if (prev) {
    const std::string mac = StoredSealMac(KeyOf(s.period()), e, *prev);
    if (mac != s.mac()) {
      at.kind = "edited";
      at.seal_seq_end = 0;
      at.detail = "MAC does not verify under period " + std::to_string(s.period()) +
                  "'s key (content edited, or an event inserted)";
      Report(at);
    } else {
      *authentic = true;
    }
  }
  if (!fresh && s.period() < st.last_period) {
    at.kind = "period_back";
    at.seal_seq_end = 0;
    at.detail = "sealed in period " + std::to_string(s.period()) + " after an event of period " +
                std::to_string(st.last_period) + " (reordered, or forged into the past)";
    Report(at);
  }
  const int64_t start = key_.schedule.PeriodStartUs(s.period());
  if (e.receive_time_us() < start - grace_us_) {
    at.kind = "late_seal";
    at.seal_seq_end = 0;
    at.detail = "sealed in period " + std::to_string(s.period()) + " but received " +
                std::to_string((start - e.receive_time_us()) / 1'000'000) +
                " s before that period began (forged with a later period's key?)";
    Report(at);
  }
  if (fresh || s.seq() > st.last_seq) {
    st.last_seq = s.seq();
    st.last_mac = s.mac();
    st.last_ingest = e.ingest_seq();
  }
  st.last_period = std::max(st.last_period, s.period());
  if (auto c = claims_.find({e.host(), s.chain(), s.seq()}); c != claims_.end()) {
    if (c->second.mac != s.mac()) {
      Report({"edited", e.host(), s.chain(), s.seq(), 0, e.ingest_seq(),
              "its seal is not the head the tick at ingest_seq " +
                  std::to_string(c->second.tick_ingest) + " names (replaced)"});
    }
    claims_.erase(c);
  }
}

void SealVerifier::ClaimHeads(const v1::Event& tick) {
  ++result_.ticks;
  for (const v1::SealHead& h : tick.seal_tick().heads()) {
    if (!scope_.empty() && !GlobMatch(scope_, h.host())) continue;
    // The tick's own chain: its head is the tick's predecessor, which the
    // tick's MAC (made over that predecessor's MAC) has just checked.
    if (h.host() == tick.host() && h.chain() == tick.seal().chain() &&
        h.seq() + 1 == tick.seal().seq()) {
      continue;
    }
    auto it = chains_.find({h.host(), h.chain()});
    if (it != chains_.end() && it->second.last_seq == h.seq()) {
      if (it->second.last_mac != h.mac()) {
        Report({"edited", h.host(), h.chain(), h.seq(), 0, it->second.last_ingest,
                "its seal is not the head the tick at ingest_seq " +
                    std::to_string(tick.ingest_seq()) + " names (replaced)"});
      }
    } else if (it != chains_.end() && it->second.last_seq > h.seq()) {
      Report({"out_of_order", h.host(), h.chain(), h.seq(), 0, tick.ingest_seq(),
              "the tick names a head older than events stored before it"});
    } else {
      claims_[{h.host(), h.chain(), h.seq()}] = {h.mac(), tick.ingest_seq()};
    }
  }
}

void SealVerifier::NoteCollectorEvent(const v1::Event& e) {
  if (e.has_seal_tick()) {
    ClaimHeads(e);
  } else if (IsSelf(e, "COLLECTOR_START")) {
    const int64_t d = Number(Field(e, "retention_us"), -1);
    if (d < 0) return;
    policy_ = Policy{d, {}};
    // "glob=us glob=us", in the order they match
    const std::string overrides = Field(e, "retention_overrides");
    size_t pos = 0;
    while (pos < overrides.size()) {
      size_t end = overrides.find(' ', pos);
      if (end == std::string::npos) end = overrides.size();
      const std::string item = overrides.substr(pos, end - pos);
      if (const size_t eq = item.rfind('='); eq != std::string::npos) {
        policy_.overrides.emplace_back(item.substr(0, eq), Number(item.substr(eq + 1), 0));
      }
      pos = end + 1;
    }
  } else if (IsSelf(e, "RETENTION_CUT")) {
    const std::string host = Field(e, "host");
    const int64_t cut_us = Number(Field(e, "cut_us"), 0);
    const std::string reason = Field(e, "reason");
    const uint64_t seal_seq = static_cast<uint64_t>(Number(Field(e, "seal_seq"), 0));
    const uint32_t chain = static_cast<uint32_t>(Number(Field(e, "seal_chain"), 0));
    SealFinding f{"", host, chain, seal_seq, 0, e.ingest_seq(), ""};
    const int64_t keep = policy_.For(host);
    if (!reason.empty() && reason != "retention") {
      f.kind = "early_cut";
      f.failure = false;
      f.detail = "early cut (" + reason + "): events received before cut_us " +
                 std::to_string(cut_us) + " removed";
      Report(f);
    } else if (policy_.default_us < 0) {
      f.kind = "unjustified_cut";
      f.detail = "no sealed COLLECTOR_START records the retention in force before this cut";
      Report(f);
    } else if (keep == 0 || cut_us > e.receive_time_us() - keep) {
      f.kind = "unjustified_cut";
      f.detail = "removes events received up to " +
                 std::to_string((e.receive_time_us() - cut_us) / 1'000'000) +
                 " s before the cut, younger than the retention in force (" +
                 (keep == 0 ? std::string("forever") : std::to_string(keep / 1'000'000) + " s") +
                 ")";
      Report(f);
    }
    if (seal_seq != 0) {
      std::string mac;  // stays empty when not hex: the link then fails to verify
      ParseLowerHex(Field(e, "seal_mac"), &mac);
      cuts_[{host, chain}].push_back({seal_seq, mac, e.ingest_seq()});
    }
  }
}

SealVerifyResult SealVerifier::Finish() {
  for (auto& [ck, st] : chains_) {
    if (!st.unlinked_start) continue;
    const v1::Event& e = *st.unlinked_start;
    const uint64_t k = e.seal().seq();
    const Cut* cut = nullptr;
    for (const Cut& c : cuts_[ck]) {
      if (c.seal_seq == k - 1) cut = &c;
    }
    if (cut == nullptr) {
      Report({"missing", ck.first, ck.second, 1, k - 1, e.ingest_seq(),
              "the chain's first stored event is seal_seq " + std::to_string(k) +
                  " and no sealed RETENTION_CUT ends at seal_seq " + std::to_string(k - 1)});
    } else if (StoredSealMac(KeyOf(e.seal().period()), e, cut->seal_mac) != e.seal().mac()) {
      Report({"edited", ck.first, ck.second, k, 0, e.ingest_seq(),
              "MAC does not verify after the retention cut at ingest_seq " +
                  std::to_string(cut->ingest)});
    }
  }
  for (const auto& [where, claim] : claims_) {
    const auto& [host, chain, seq] = where;
    uint64_t cut_through = 0;
    for (const Cut& c : cuts_[{host, chain}]) cut_through = std::max(cut_through, c.seal_seq);
    if (seq <= cut_through) continue;  // removed by a sealed cut
    auto it = chains_.find({host, chain});
    if (it == chains_.end()) {
      Report({"missing_host", host, chain, seq, 0, claim.tick_ingest,
              "the tick at ingest_seq " + std::to_string(claim.tick_ingest) +
                  " names this host's head, and none of its events is stored"});
    } else {
      Report({"truncated", host, chain, it->second.last_seq + 1, seq, claim.tick_ingest,
              "the tick at ingest_seq " + std::to_string(claim.tick_ingest) + " names seal_seq " +
                  std::to_string(seq) + "; the stored chain ends at " +
                  std::to_string(it->second.last_seq)});
    }
  }
  const std::string mine = key_.key_id();
  for (const auto& [chain, id] : chain_keys_) {
    if (id == mine || id.empty()) continue;
    auto& f = result_.findings;
    f.erase(std::remove_if(f.begin(), f.end(),
                           [chain = chain](const SealFinding& x) { return x.chain == chain; }),
            f.end());
    Report({"other_key", "", chain, 0, 0, 0,
            "sealed under verification key " + id + ", not " + mine + ": give that key too"});
  }
  result_.chains = chains_.size();
  return std::move(result_);
}

}  // namespace trailkeep
