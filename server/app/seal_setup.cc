#include "server/app/seal_setup.h"

#include <filesystem>
#include <iostream>

#include "common/base/clock.h"
#include "common/seal/seal_state.h"
#include "server/app/config.h"
#include "server/store/retention.h"

namespace trailkeep {

namespace {

bool Inside(const std::string& path, const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path p = fs::weakly_canonical(fs::absolute(path));
  const fs::path d = fs::weakly_canonical(fs::absolute(dir));
  auto [end, _] = std::mismatch(d.begin(), d.end(), p.begin(), p.end());
  return end == d.end();
}

}  // namespace

Result<std::string> SetUpSealing(const std::string& state_path, const std::string& key_out,
                                 const std::string& data_dir, int64_t period_us, int64_t now_us) {
  if (Inside(key_out, data_dir)) {
    return Status::InvalidArgument(
        "the verification key " + key_out + " would be inside the data folder " + data_dir +
        ": it must never be stored with the data or in a backup; write it elsewhere");
  }
  if (std::filesystem::exists(state_path)) {
    return Status::InvalidArgument("sealing is already set up: " + state_path +
                                   " exists (remove it to start over with a new key)");
  }
  auto key = GenerateVerificationKey(now_us, period_us);
  if (!key.ok()) return key.status();
  if (Status w = WriteVerificationKeyFile(key_out, key.value()); !w.ok()) return w;
  std::filesystem::create_directories(std::filesystem::path(state_path).parent_path());
  if (Status w = WriteSealStateFile(state_path, SealState::Initial(key.value())); !w.ok()) {
    std::filesystem::remove(key_out);
    return w;
  }
  return key.value().key_id();
}

int RunSealSetup(const SealSetupOptions& o) {
  ServerConfig config;
  if (!o.dev_dir.empty()) {
    config = MakeDevConfig(o.dev_dir);
  } else if (!o.config_file.empty()) {
    auto errors = LoadConfig(o.config_file, &config);
    for (const auto& e : errors) std::cerr << e.ToString() << "\n";
    if (!errors.empty()) return 2;
  } else {
    std::cerr << "trailkeepd seal-setup: give --config FILE or --dev DIR\n";
    return 2;
  }
  int64_t period_us = config.seal_period_us;
  if (!o.period.empty()) {
    const auto us = ParseRetention(o.period);
    if (!us || *us < 1'000'000) {
      std::cerr << "trailkeepd seal-setup: --period must be a duration of at least 1s such as "
                   "15m, not "
                << o.period << "\n";
      return 2;
    }
    period_us = *us;
  }
  const std::string state = config.SealStatePath();
  auto id =
      SetUpSealing(state, o.key_out, config.data_dir, period_us, MakeSystemClock()->NowMicros());
  if (!id.ok()) {
    std::cerr << "trailkeepd seal-setup: " << id.status().message() << "\n";
    return 1;
  }
  std::cout << "sealing set up: key " << id.value() << ", period " << FormatRetention(period_us)
            << "\n  verification key: " << o.key_out
            << " (keep it offline; it is never stored with the data)\n  sealing state:    " << state
            << "\nVerify a stopped copy of the store with\n  trailkeepd verify "
            << "--seal-key " << o.key_out << " --db DATA_DIR\n";
  return 0;
}

}  // namespace trailkeep
