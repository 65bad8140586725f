// `trailkeepd verify --db DIR --host H [--key FILE | --keys-dir DIR]`: re-checks
// one host's stored HMAC chain from scratch with ChainAuditor
// (common/chain/chain_audit.h), opening the store as a RocksDB secondary
// instance like the other store tools, so it works while the collector runs.
//
// The key is FILE, or KEYSDIR/H.key with the retired keys of
// KEYSDIR/H.retired/ (common/wire/key_folder.h), so a chain verifies across
// key rotations; the default KEYSDIR is the `keys` folder beside the data
// folder (what `trailkeepd --dev X` uses: data in X/data, keys in X/keys).
//
// Prints "OK N events" or one line per broken range ("gap epoch=E seqs
// 41-57: ...") and a summary to stdout, progress every 100k events to
// stderr. Exit code: 0 clean, 1 broken, 2 usage or I/O error.
#pragma once

#include <cstdint>
#include <string>

namespace trailkeep {

struct VerifyOptions {
  std::string db;
  std::string host;
  std::string key_file;  // "" = <keys_dir>/<host>.key
  std::string keys_dir;  // "" = the `keys` folder beside the data folder
  uint32_t enterprise_number = 32473;
};

int RunVerify(const VerifyOptions& options);

}  // namespace trailkeep
