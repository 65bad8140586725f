#include "server/app/verify_tool.h"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/base/time_format.h"
#include "common/seal/seal_verifier.h"
#include "common/wire/hmac_chain.h"
#include "common/wire/key_folder.h"
#include "server/app/store_tools.h"
#include "server/sinks/chain_verify_job.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

constexpr uint64_t kProgressEvery = 100'000;

// <data folder>/../keys, the data folder being the store's parent (or DIR
// itself when it holds no store yet).
std::string DefaultKeysDir(const std::string& db) {
  namespace fs = std::filesystem;
  const std::string resolved = ResolveStorePath(db);
  const fs::path store = fs::absolute(resolved).lexically_normal();
  const bool is_store = resolved != db || fs::exists(fs::path(db) / "CURRENT");
  fs::path data = is_store ? store.parent_path() : store;
  if (data.filename().empty()) data = data.parent_path();  // a trailing slash
  return (data.parent_path() / "keys").string();
}

}  // namespace

int RunSealVerify(const VerifyOptions& o) {
  auto key = ReadVerificationKeyFile(o.seal_key_file);
  if (!key.ok()) {
    std::cerr << "trailkeepd verify: " << key.status().message() << "\n";
    return 2;
  }
  auto store = OpenStoreForReading(o.db);
  if (!store) return 2;
  SealVerifier verifier(key.value());
  uint64_t n = 0;
  Status scanned = store->ScanEvents(0, [&](const v1::Event& e) {
    verifier.Add(e);
    if (++n % kProgressEvery == 0) {
      std::fprintf(stderr, "trailkeepd verify: %llu events checked\n",
                   static_cast<unsigned long long>(n));
    }
    return true;
  });
  if (!scanned.ok()) {
    std::cerr << "trailkeepd verify: " << scanned.ToString() << "\n";
    return 2;
  }
  const SealVerifyResult r = verifier.Finish();
  for (const auto& f : r.findings) std::printf("%s\n", FormatSealFinding(f).c_str());
  std::printf("%s\n", FormatSealSummary(r).c_str());
  std::fflush(stdout);
  return r.clean() ? 0 : 1;
}

int RunVerify(const VerifyOptions& o) {
  if (!o.seal_key_file.empty()) return RunSealVerify(o);
  if (o.host.empty()) {
    std::cerr << "trailkeepd verify: give --host H (one host's HMAC chain) or --seal-key FILE "
                 "(the store's seal)\n";
    return 2;
  }
  if (!o.key_file.empty() && !o.keys_dir.empty()) {
    std::cerr << "trailkeepd verify: give --key FILE or --keys-dir DIR, not both\n";
    return 2;
  }
  auto store = OpenStoreForReading(o.db);
  if (!store) return 2;
  const std::string keys_dir = o.keys_dir.empty() ? DefaultKeysDir(o.db) : o.keys_dir;
  const std::string key_path = o.key_file.empty()
                                   ? (std::filesystem::path(keys_dir) / (o.host + ".key")).string()
                                   : o.key_file;
  auto key = LoadHmacKey(key_path);
  if (!key.ok()) {
    std::cerr << "trailkeepd verify: " << key.status().message()
              << (o.key_file.empty() ? " (name the key with --key FILE or --keys-dir DIR)" : "")
              << "\n";
    return 2;
  }

  StoredChainAudit audit;
  audit.key = key.value();
  if (o.key_file.empty()) {
    const HostKeys keys = LoadHostKeys(keys_dir, o.host);
    for (const auto& p : keys.problems) std::cerr << "trailkeepd verify: warning: " << p << "\n";
    for (size_t i = keys.has_current ? 1 : 0; i < keys.keys.size(); ++i) {
      audit.retired_keys.push_back(keys.keys[i].key);
    }
  }
  audit.enterprise_number = o.enterprise_number;
  audit.progress_every = kProgressEvery;
  audit.progress = [](uint64_t n) {
    std::fprintf(stderr, "trailkeepd verify: %llu events checked\n",
                 static_cast<unsigned long long>(n));
  };
  auto audited = AuditStoredChain(*store, o.host, audit);
  if (!audited.ok()) {
    const Status& s = audited.status();
    if (s.code() == Status::Code::kNotFound) {
      std::cerr << "trailkeepd verify: no host '" << o.host << "' in " << ResolveStorePath(o.db)
                << " (see trailkeepd hosts)\n";
    } else {
      std::cerr << "trailkeepd verify: " << s.ToString() << "\n";
    }
    return 2;
  }
  const ChainAuditResult& r = audited.value();
  for (const auto& issue : r.issues) std::printf("%s\n", FormatChainIssue(issue).c_str());
  // A cut is not a gap, but the reader must see it, and whether the policy
  // made it or the disk-full policy made it early.
  if (auto state = store->GetHostState(o.host); state.ok() && state.value()) {
    const v1::HostState& h = *state.value();
    if (h.retention_cut_us() != 0) {
      std::printf("retention cut: events received before %s removed (%llu in all)%s\n",
                  FormatRfc3339Micros(h.retention_cut_us()).c_str(),
                  static_cast<unsigned long long>(h.expired_events()),
                  h.retention_cut_reason().empty()
                      ? ", by the retention policy"
                      : ("; the last cut was EARLY (" + h.retention_cut_reason() + "), " +
                         std::to_string(h.early_expired_events()) +
                         " events removed early to free the store's disk")
                            .c_str());
    }
  }
  std::printf("%s\n", FormatChainSummary(r).c_str());
  std::fflush(stdout);
  return r.clean() ? 0 : 1;
}

}  // namespace trailkeep
