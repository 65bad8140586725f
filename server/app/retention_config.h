// [store] retention and [[store.retention_override]] (docs/configuration.md):
// the collector's retention policy read from its [store] table. Errors go to
// the reader with their lines, as every other key's.
#pragma once

#include <toml++/toml.h>

#include "common/config/toml_reader.h"
#include "server/store/retention.h"

namespace trailkeep {

// Reads `retention` ("180d", "12h", "forever", ...) and the overrides
// (hosts = [globs], retention), in file order, into *policy.
void ReadRetentionConfig(const toml::table& store_table, TomlReader* r, RetentionPolicy* policy);

}  // namespace trailkeep
