// IdentityMap: one host's user and group names by numeric id, from the
// inventory event a trailkeep agent sends at start and after every change
// (APP-NAME "trailkeep", MSGID "INVENTORY", MSG {"users":{"0":"root"},
// "groups":{"0":"root"}}, agent/message_builder.h). Immutable once built.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/base/status.h"

namespace trailkeep::audit {

class IdentityMap {
 public:
  // Parses the inventory MSG; InvalidArgument when it is not that JSON.
  static Result<IdentityMap> FromInventoryJson(std::string_view json);

  std::optional<std::string_view> User(uint64_t id) const { return Find(users_, id); }
  std::optional<std::string_view> Group(uint64_t id) const { return Find(groups_, id); }
  size_t size() const { return users_.size() + groups_.size(); }

 private:
  using Names = std::unordered_map<uint64_t, std::string>;
  static std::optional<std::string_view> Find(const Names& names, uint64_t id);
  Names users_, groups_;
};

// Whether an event with this APP-NAME and MSGID is an agent inventory.
inline bool IsInventoryEvent(std::string_view app_name, std::string_view msgid) {
  return app_name == "trailkeep" && msgid == "INVENTORY";
}

}  // namespace trailkeep::audit
