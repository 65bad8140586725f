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
//
// `trailkeepd verify --db DIR --seal-key FILE` checks the seal of the whole
// store instead (common/seal/seal_verifier.h, docs/formats/seal.md): every
// event in ingest order, one line per finding with its position (host,
// chain, seal seq, ingest_seq), then a summary; the same exit codes. Run it
// on a copy of a stopped store: a running collector's newest events are
// not covered by a tick yet.
#pragma once

#include <cstdint>
#include <string>

namespace trailkeep {

struct VerifyOptions {
  std::string db;
  std::string host;
  std::string key_file;       // "" = <keys_dir>/<host>.key
  std::string keys_dir;       // "" = the `keys` folder beside the data folder
  std::string seal_key_file;  // set: verify the seal, not one host's chain
  uint32_t enterprise_number = 32473;
};

int RunVerify(const VerifyOptions& options);

}  // namespace trailkeep
