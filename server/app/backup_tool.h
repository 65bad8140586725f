// `trailkeepd backup (--config FILE | --dev DIR) [--server URL] [--cacert FILE]
// [--token-file FILE] [--cert FILE --key FILE]`: asks the running collector
// for a consistent copy of its store through its API (POST /v1/backup, admin
// scope), exactly as `trailkeep backup --server` does (common/api/): a second
// process can open the store only as a RocksDB secondary, from which 7.8
// cannot take a checkpoint.
//
// Defaults from the collector's own files: the API address from
// data_dir/ports.json (a wildcard address becomes loopback), the CA from
// [tls] ca_file; with --dev, the dev CA and DIR/admin.token. Prints the
// backup's folder; exit 0, 1 when the collector refuses or cannot be reached,
// 2 for a configuration or usage error.
#pragma once

#include <string>

namespace trailkeep {

struct BackupToolOptions {
  std::string config_file;  // one of config_file and dev_dir
  std::string dev_dir;
  std::string server;  // https://HOST:PORT; default from ports.json
  std::string cacert;
  std::string token_file;
  std::string cert, key;
};

int RunBackupTool(const BackupToolOptions& options);

}  // namespace trailkeep
