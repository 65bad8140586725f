// [store] space_left, admin_space_left, reserve and disk_full_action
// (docs/configuration.md): the disk-full policy read from the collector's
// [store] table. space_warning_mb (an integer of MiB, the older spelling of
// space_left) is still read; giving both is an error. Errors go to the
// reader with their lines, as every other key's.
#pragma once

#include <toml++/toml.h>

#include "common/config/toml_reader.h"
#include "server/app/disk_policy.h"

namespace trailkeep {

void ReadDiskSpaceConfig(const toml::table& store_table, TomlReader* r, DiskSpaceConfig* config);

}  // namespace trailkeep
