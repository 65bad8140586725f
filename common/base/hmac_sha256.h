// HmacSha256Key: HMAC-SHA-256 (RFC 2104) of many messages under one key.
//
// OpenSSL 3's one-shot HMAC() fetches the digest and builds a MAC context on
// every call, which costs more than hashing a short message: about 28,000
// instructions per 250-byte event under callgrind. This object does the
// key-dependent part once, keeping the digest states after the inner and
// outer padded keys, so each MAC costs two state copies and the digests'
// compression rounds over the message.
//
// Mac() is const and may run on several threads at once (each call copies
// the kept states into a context of its own). Movable, not copyable.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

namespace trailkeep {

class HmacSha256Key {
 public:
  static constexpr size_t kMacBytes = 32;
  using MacBytes = std::array<unsigned char, kMacBytes>;

  // Any key length (longer than the block size is hashed first, as RFC 2104
  // says). valid() is false when OpenSSL could not set it up.
  explicit HmacSha256Key(std::string_view key);
  ~HmacSha256Key();
  HmacSha256Key(HmacSha256Key&&) noexcept;
  HmacSha256Key& operator=(HmacSha256Key&&) noexcept;

  bool valid() const { return state_ != nullptr; }
  // False only when OpenSSL fails (out of memory) or !valid().
  bool Mac(std::string_view data, MacBytes* out) const;
  // The 32 MAC bytes as a string; "" when Mac() fails.
  std::string Mac(std::string_view data) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace trailkeep
