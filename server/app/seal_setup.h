// `trailkeepd seal-setup --verification-key-out FILE [--period 15m]
// (--config FILE | --dev DIR)`: sets sealing up once (docs/operations.md),
// like `journalctl --setup-keys`. It draws K_0, writes the verification key
// (K_0, t0, period) to FILE for the operator to keep offline, and the
// collector's state file (K_0 for period 0) to [seal] state_file. It refuses
// to replace either, and refuses a FILE inside the data folder: the
// verification key must never sit beside the data or in a backup.
#pragma once

#include <cstdint>
#include <string>

#include "common/base/status.h"

namespace trailkeep {

struct SealSetupOptions {
  std::string config_file;
  std::string dev_dir;
  std::string key_out;
  std::string period;  // "" = [seal] period
};

int RunSealSetup(const SealSetupOptions& options);

// The set-up itself; returns the key id. `data_dir` is where `key_out` must
// not be.
Result<std::string> SetUpSealing(const std::string& state_path, const std::string& key_out,
                                 const std::string& data_dir, int64_t period_us, int64_t now_us);

}  // namespace trailkeep
