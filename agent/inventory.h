// InventoryWatcher: notices when the identity files (/etc/passwd and
// /etc/group, or the configured ones) change, by polling their mtime and
// size, so the forwarder can send a fresh INVENTORY event
// (message_builder.h) at start and after every change.
// Not thread-safe: one owner thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/message_builder.h"

namespace trailkeep::agent {

class InventoryWatcher {
 public:
  // files[0] is a passwd-format file, files[1] a group-format file.
  explicit InventoryWatcher(std::vector<std::string> files);

  // The inventory event when the files changed since the last call that
  // returned one (always on the first call); nullopt otherwise. A missing
  // file counts as empty.
  std::optional<MessageParts> Poll(int64_t now_us);

 private:
  struct Stamp {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    bool operator==(const Stamp&) const = default;
  };
  std::vector<std::string> files_;
  std::vector<Stamp> stamps_;
  bool first_ = true;
};

}  // namespace trailkeep::agent
