// A host's HMAC keys in the collector's keys_dir (docs/formats/hmac_chain.md,
// 'Keys'):
//   <keys_dir>/<host>.key                  the current key
//   <keys_dir>/<host>.retired/<id>.key     each retired key, named by its id
// Every file holds 64 hex digits and has mode 0600 (LoadHmacKey). A retired
// key stays so that events signed before the switch still verify; which key
// is in force at which seq is the chain's business (common/chain/
// key_schedule.h), not the folder's.
//
// Used by the collector's keyring, `trailkeepd verify --db`, `trailkeepd
// enroll --rotate` and `trailkeep verify --export --keys-dir`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/base/hmac_sha256.h"
#include "common/base/status.h"

namespace trailkeep {

struct HostKey {
  std::string id;   // KeyId(key)
  std::string key;  // 32 raw bytes
  // The key's HMAC set up once (LoadHostKeys fills it): verifying an event
  // then costs about half of a one-shot HMAC (common/base/hmac_sha256.h).
  std::shared_ptr<const HmacSha256Key> hmac;
};

struct HostKeys {
  std::vector<HostKey> keys;  // the current key first (when present), then the retired ones
  bool has_current = false;
  std::string current_problem;        // why there is no current key ("" when there is)
  std::vector<std::string> problems;  // retired files skipped, each with its reason
};

std::string CurrentKeyPath(const std::string& keys_dir, const std::string& host);
std::string RetiredKeyDir(const std::string& keys_dir, const std::string& host);
std::string RetiredKeyPath(const std::string& keys_dir, const std::string& host,
                           const std::string& id);

// Reads every key of `host`. A retired file that cannot be read, or whose
// name is not its key's id, is skipped and named in `problems`.
HostKeys LoadHostKeys(const std::string& keys_dir, const std::string& host);

}  // namespace trailkeep
