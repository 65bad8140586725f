#include "common/seal/seal_chains.h"

#include "common/seal/seal_key.h"
#include "common/seal/seal_mac.h"

namespace trailkeep {

const SealChains::Head* SealChains::Find(const std::string& host) const {
  if (auto it = pending_.find(host); it != pending_.end()) return &it->second;
  if (auto it = heads_.find(host); it != heads_.end()) return &it->second;
  return nullptr;
}

void SealChains::Seal(v1::Event* event, const std::string& key, uint64_t period) {
  const Head* head = Find(event->host());
  // A head of another chain (before a restore) does not continue: seq 1.
  const bool continues = head != nullptr && head->chain == chain_;
  const uint64_t seq = continues ? head->seq + 1 : 1;
  const std::string prev = continues ? head->mac : std::string(kSealMacBytes, '\0');
  if (!mac_ || mac_period_ != period) {
    mac_ = std::make_unique<const HmacSha256Key>(key);
    mac_period_ = period;
  }
  std::string mac = mac_->Mac(SealInput(*event, chain_, period, seq, prev));
  v1::SealElement* s = event->mutable_seal();
  s->set_chain(chain_);
  s->set_period(period);
  s->set_seq(seq);
  s->set_mac(mac);
  pending_[event->host()] = Head{chain_, seq, std::move(mac)};
}

std::vector<v1::SealHead> SealChains::Heads() const {
  std::vector<v1::SealHead> out;
  auto add = [&out](const std::string& host, const Head& h) {
    v1::SealHead sh;
    sh.set_host(host);
    sh.set_chain(h.chain);
    sh.set_seq(h.seq);
    sh.set_mac(h.mac);
    out.push_back(std::move(sh));
  };
  auto p = pending_.begin();
  for (const auto& [host, h] : heads_) {
    for (; p != pending_.end() && p->first < host; ++p) add(p->first, p->second);
    if (p != pending_.end() && p->first == host) {
      add(host, p->second);
      ++p;
    } else {
      add(host, h);
    }
  }
  for (; p != pending_.end(); ++p) add(p->first, p->second);
  return out;
}

void SealChains::Commit() {
  for (auto& [host, h] : pending_) heads_[host] = std::move(h);
  pending_.clear();
}

}  // namespace trailkeep
