// SealChains: every host's seal head, and the sealing of one event onto its
// host's chain (docs/formats/seal.md). What a batch seals is kept apart
// until Commit() (the batch is durable) or Abort() (it was abandoned), so the
// heads only ever name stored events.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/base/hmac_sha256.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

class SealChains {
 public:
  struct Head {
    uint32_t chain = 0;
    uint64_t seq = 0;
    std::string mac;
  };

  explicit SealChains(uint32_t chain = 1) : chain_(chain) {}
  uint32_t chain() const { return chain_; }
  // The committed head of a host (from the store at start).
  void SetHead(const std::string& host, Head head) { heads_[host] = std::move(head); }

  // Seals *event (ingest_seq 0, no seal yet) as the next of its host in
  // chain(), with `key` of `period`; the new head is pending. The key's HMAC
  // is set up once per period and dropped when the period changes.
  void Seal(v1::Event* event, const std::string& key, uint64_t period);
  // Every host's head as of now (pending included), host order.
  std::vector<v1::SealHead> Heads() const;
  void Commit();
  void Abort() { pending_.clear(); }
  // Drops the HMAC set up for the last key: call it when that key is erased.
  void ForgetKey() { mac_.reset(); }

 private:
  const Head* Find(const std::string& host) const;

  const uint32_t chain_;
  // The HMAC of the last period's key (its padded-key states are as good as
  // the key: replaced, never kept, when the period moves on).
  std::unique_ptr<const HmacSha256Key> mac_;
  uint64_t mac_period_ = 0;
  std::map<std::string, Head> heads_;
  std::map<std::string, Head> pending_;
};

}  // namespace trailkeep
