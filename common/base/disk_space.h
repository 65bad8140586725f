// Free space of a file system, as an unprivileged writer sees it (statvfs
// f_bavail): what the store's reserve and the low-space warning compare;
// and its size, which percentages of [store] levels are taken of.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace trailkeep {

// Bytes available on the file system holding `path`; nullopt when statvfs fails.
std::optional<uint64_t> FreeDiskBytes(const std::string& path);
// Size in bytes of the file system holding `path` (f_blocks); nullopt when statvfs fails.
std::optional<uint64_t> DiskSizeBytes(const std::string& path);

}  // namespace trailkeep
