#include "agent/crc32.h"

#include <zlib.h>

namespace trailkeep::agent {

// zlib's crc32() is the reference for this polynomial and several times
// faster than a byte-wise table (the spool checks every record twice).
uint32_t Crc32(std::string_view data, uint32_t crc) {
  uLong c = crc;
  while (!data.empty()) {
    const uInt n = data.size() > (1u << 30) ? (1u << 30) : static_cast<uInt>(data.size());
    c = ::crc32(c, reinterpret_cast<const Bytef*>(data.data()), n);
    data.remove_prefix(n);
  }
  return static_cast<uint32_t>(c);
}

}  // namespace trailkeep::agent
