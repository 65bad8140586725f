// The seal's forward-secure key schedule (docs/formats/seal.md, 'Keys').
//
// Period i runs from t0 + i * period for `period`; its key is
//   K_0 = 32 random bytes (the verification key, handed to the operator)
//   K_{i+1} = HMAC-SHA-256(K_i, "trailkeep seal step")
// so whoever holds K_i can make every later key but no earlier one: a
// collector that erased K_{i-1} can no longer seal into the past. The key
// id, HMAC-SHA-256(K_0, "trailkeep seal key id")[0..8) in hex, names a
// verification key without revealing it.
//
// The verification key file (text, written once at set-up, kept offline):
//   trailkeep-seal-verification-key 1
//   key_id <16 hex>
//   k0 <64 hex>
//   t0_us <decimal>
//   period_us <decimal>
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/status.h"

namespace trailkeep {

inline constexpr size_t kSealKeyBytes = 32;
inline constexpr size_t kSealMacBytes = 32;

// The next period's key.
std::string StepSealKey(std::string_view key);
std::string SealKeyId(std::string_view k0);

struct SealSchedule {
  int64_t t0_us = 0;
  int64_t period_us = 900'000'000;  // 15 min
  // The period `time_us` falls in (0 before t0).
  uint64_t PeriodAt(int64_t time_us) const;
  int64_t PeriodStartUs(uint64_t period) const;
};

struct VerificationKey {
  std::string k0;  // kSealKeyBytes
  SealSchedule schedule;
  std::string key_id() const { return SealKeyId(k0); }
};

// A new K_0 from the system's randomness, schedule starting at `t0_us`.
Result<VerificationKey> GenerateVerificationKey(int64_t t0_us, int64_t period_us);
std::string FormatVerificationKey(const VerificationKey& key);
Result<VerificationKey> ParseVerificationKey(std::string_view text);
// Writes a new file (refuses to replace one), mode 0600, synced.
Status WriteVerificationKeyFile(const std::string& path, const VerificationKey& key);
Result<VerificationKey> ReadVerificationKeyFile(const std::string& path);

// Derives the keys of increasing periods from K_0, one step at a time, so a
// verifier walking a store in time order pays one HMAC per period.
class SealKeyWalker {
 public:
  explicit SealKeyWalker(std::string k0) : key_(std::move(k0)) {}
  // The key of `period`; earlier periods than the last asked restart from K_0.
  const std::string& KeyOf(uint64_t period);

 private:
  std::string key_;
  std::string k0_ = key_;
  uint64_t period_ = 0;
};

}  // namespace trailkeep
