// CRC-32 with the zlib/IEEE 802.3 polynomial (reflected 0xEDB88320, initial
// and final XOR 0xFFFFFFFF): the same value as Python's zlib.crc32(), so
// spool files can be checked and repaired with a few lines of Python.
#pragma once

#include <cstdint>
#include <string_view>

namespace trailkeep::agent {

uint32_t Crc32(std::string_view data, uint32_t crc = 0);

}  // namespace trailkeep::agent
