// Big-endian fixed-width integers for keys: byte order equals numeric order,
// so RocksDB's bytewise comparator sorts keys by time and sequence.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace trailkeep {

// Appends the 8 bytes of `v`, most significant first, to *dst.
void PutFixed64BE(std::string* dst, uint64_t v);
// Reads 8 big-endian bytes at `src[0..8)`. The caller guarantees the size.
uint64_t DecodeFixed64BE(std::string_view src);
// Order-preserving encoding of a signed time: flips the sign bit.
inline uint64_t OrderedFromSigned(int64_t v) { return static_cast<uint64_t>(v) ^ (1ULL << 63); }
inline int64_t SignedFromOrdered(uint64_t v) { return static_cast<int64_t>(v ^ (1ULL << 63)); }

// "AB:CD:..." upper-case hex pairs separated by colons (RFC 5425 fingerprints).
std::string HexColon(std::string_view bytes);
std::string Base64Encode(std::string_view bytes);

// Lower-case hex of raw bytes (keys, MACs, digests), and back: false on an
// odd length or a character that is not a lower-case hex digit.
std::string LowerHex(std::string_view bytes);
bool ParseLowerHex(std::string_view hex, std::string* out);

}  // namespace trailkeep
