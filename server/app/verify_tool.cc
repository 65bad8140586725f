#include "server/app/verify_tool.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <vector>

#include "common/wire/chain_audit.h"
#include "common/wire/hmac_chain.h"
#include "server/app/store_tools.h"
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

int RunVerify(const VerifyOptions& o) {
  if (o.host.empty()) {
    std::cerr << "trailkeepd verify: give --host H\n";
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

  uint64_t host_id = 0;
  bool found = false;
  Status s = store->ListHosts([&](const v1::HostState& h) {
    if (h.name() == o.host) {
      host_id = h.id();
      found = true;
    }
  });
  if (!s.ok()) {
    std::cerr << "trailkeepd verify: " << s.ToString() << "\n";
    return 2;
  }
  if (!found) {
    std::cerr << "trailkeepd verify: no host '" << o.host << "' in " << ResolveStorePath(o.db)
              << " (see trailkeepd hosts)\n";
    return 2;
  }

  // Block start seqs in ingest order; blocks are disjoint runs of seqs.
  const uint64_t max_seq = store->LastSeq();
  std::vector<uint64_t> blocks;
  s = store->ScanHostBlocks(host_id, INT64_MIN / 2, INT64_MAX, [&](uint64_t seq) {
    if (seq <= max_seq) blocks.push_back(seq);
    return true;
  });
  if (!s.ok()) {
    std::cerr << "trailkeepd verify: " << s.ToString() << "\n";
    return 2;
  }
  std::sort(blocks.begin(), blocks.end());
  blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());

  ChainAuditor auditor(key.value(), o.enterprise_number);
  auditor.SetProgress(kProgressEvery, [](uint64_t n) {
    std::fprintf(stderr, "trailkeepd verify: %llu events checked\n",
                 static_cast<unsigned long long>(n));
  });
  std::vector<v1::Event> events;
  for (uint64_t first : blocks) {
    events.clear();
    s = store->ReadBlock(first, &events);
    if (!s.ok()) {
      std::cerr << "trailkeepd verify: " << s.ToString() << "\n";
      return 2;
    }
    for (const auto& e : events) {
      if (e.host() == o.host && e.ingest_seq() <= max_seq) auditor.Add(e);
    }
  }
  const ChainAuditResult r = auditor.Finish();
  for (const auto& issue : r.issues) std::printf("%s\n", FormatChainIssue(issue).c_str());
  std::printf("%s\n", FormatChainSummary(r).c_str());
  std::fflush(stdout);
  return r.clean() ? 0 : 1;
}

}  // namespace trailkeep
