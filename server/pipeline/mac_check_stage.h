// MacCheckStage, the third ingest stage: reads an agent event's chain element
// (docs/formats/hmac_chain.md) into the event's chain fields and checks its
// MAC with the host's keys (HmacKeyring::Authenticate: the current and the
// retired ones; the key it verifies under goes to chain_key_id): integrity
// VERIFIED, BAD_MAC (a wrong MAC, or a malformed element, which
// authenticates nothing) or NO_KEY. An event without
// an element is left UNSIGNED. Runs after HostBindingStage: the key is the
// bound host's. Sequence and continuity are the ChainVerifier's, at commit.
//
// Syslog events only: a port-60 record carries no element.
// Pure but for the keyring's cache (HmacKeyring is thread-safe). Thread-safe;
// runs on the I/O thread that parsed the event.
#pragma once

#include <cstdint>

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

class HmacKeyring;

class MacCheckStage {
 public:
  // `keys` (null: no host has a key) must outlive the stage.
  explicit MacCheckStage(HmacKeyring* keys = nullptr, uint32_t enterprise_number = 32473)
      : keys_(keys), enterprise_number_(enterprise_number) {}

  // `e` has its host set.
  void Check(v1::Event* e) const;

 private:
  HmacKeyring* keys_;
  uint32_t enterprise_number_;
};

}  // namespace trailkeep
