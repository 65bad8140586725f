// Free space of a file system, as an unprivileged writer sees it (statvfs
// f_bavail): what the store's reserve and the low-space warning compare.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace trailkeep {

// Bytes available on the file system holding `path`; nullopt when statvfs fails.
std::optional<uint64_t> FreeDiskBytes(const std::string& path);

}  // namespace trailkeep
