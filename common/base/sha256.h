// SHA-256 digests as lower-case hex: of bytes in memory, and of a file's
// bytes (API token hashes, configuration and rules digests, anchor files).
#pragma once

#include <string>
#include <string_view>

namespace trailkeep {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Lower-case hex SHA-256 of the file's bytes; "" when it cannot be read
// (the caller's own loading of the file reports why).
std::string FileSha256Hex(const std::string& path);

}  // namespace trailkeep
