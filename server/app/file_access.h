// What the collector reads and writes after start-up, checked at start-up
// and on SIGHUP against the user it runs as (server/app/privileges.h):
//   - every private key (the [tls] key, each [[tunnel]] SSH key, every file
//     in [agents] keys_dir: HMAC keys are read on first use, SSH keys at every
//     reconnection) must have mode 0600 or stricter, belong to that user and
//     be readable by it;
//   - the data folder must be writable by it, and everything in the store
//     must belong to it (RocksDB reopens its LOCK file for writing).
// Ownership is not required when the collector keeps running as root.
#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

#include "common/base/status.h"
#include "server/app/config.h"

namespace trailkeep {

struct FileOwner {
  uid_t uid = 0;
  std::string name;   // user name, for messages
  std::string group;  // for the chown advice; "" when not configured
};

// One private key: mode 0600 or stricter, readable, and owned by `owner`
// unless that is root. The message names the file.
Status CheckPrivateKey(const std::string& path, const FileOwner& owner);

// One message per problem, each naming the file ("... has mode 0640: ...",
// "cannot read ...: Permission denied", "... belongs to root, not to ...").
std::vector<std::string> CheckPrivateKeys(const ServerConfig& config, const FileOwner& owner);

// Creates data_dir when missing (as the current file-access user), then
// checks that it and data_dir/store can be written by `owner` and that
// everything in the store belongs to it. The message says what to chown.
Status PrepareDataDir(const std::string& data_dir, const FileOwner& owner);

// --check-config: what PrepareDataDir would say, without creating data_dir
// (a missing folder is probed by making and removing it).
Status CheckDataDirCreatable(const std::string& data_dir, const FileOwner& owner);

// Start-up: PrepareDataDir, then CheckPrivateKeys; every problem, one a line.
Status CheckStartupFiles(const ServerConfig& config, const FileOwner& owner);

}  // namespace trailkeep
