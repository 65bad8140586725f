// The auditd remote-logging protocol of TCP port 60 (audisp-remote <->
// auditd), byte for byte: docs/formats/audit_remote.md.
//
// Managed frames are a 16-byte little-endian header (magic FE 00 00 FF,
// header version, message version, type at the unaligned offset 6, 16-bit
// payload length, sequence id) and the payload. Anything whose first four
// bytes are not the magic is an ASCII line ending in LF (format = ascii).
//
// AuditRemoteDecoder is sans-I/O: Feed() bytes as they arrive (split at any
// byte, several frames per read), then take items with Next() until it
// returns false. An error item is final: the connection must close.
// Not thread-safe: one owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace trailkeep::auditremote {

inline constexpr uint32_t kMagic = 0xFF0000FEu;
inline constexpr size_t kHeaderBytes = 16;
// MAX_AUDIT_MESSAGE_LENGTH: audisp-remote never sends a larger payload.
inline constexpr size_t kMaxPayloadBytes = 8970;

// Message types (the high bits are flags: 0x40000000 reply, 0x20000000 fatal,
// 0x10000000 warning).
inline constexpr uint32_t kMessage = 0x00000000u;
inline constexpr uint32_t kHeartbeat = 0x00000001u;
inline constexpr uint32_t kAck = 0x40000000u;
inline constexpr uint32_t kEnding = 0x40000001u;
inline constexpr uint32_t kDiskLow = 0x50000001u;
inline constexpr uint32_t kDiskFull = 0x60000001u;
inline constexpr uint32_t kDiskError = 0x60000002u;
// A fatal reply that is not a disk condition: audisp-remote runs its
// generic_error_action. Sent before closing on a frame it cannot take.
inline constexpr uint32_t kGenericError = 0x60000010u;

struct Header {
  uint32_t magic = kMagic;
  uint8_t header_version = 0;
  uint8_t message_version = 0;
  uint32_t type = 0;
  uint16_t length = 0;
  uint32_t seq = 0;
};

// Decodes 16 bytes (little-endian, unaligned).
Header DecodeHeader(const unsigned char* p);
// Header and payload of one frame (payload at most 65535 bytes).
std::string EncodeFrame(uint32_t type, uint32_t seq, std::string_view payload = {});

struct Item {
  enum class Kind { kManaged, kAsciiLine, kError };
  Kind kind = Kind::kError;
  Header header;        // kManaged
  std::string payload;  // kManaged: the payload; kAsciiLine: the line without its LF
  std::string error;    // kError: why the stream cannot go on
};

class AuditRemoteDecoder {
 public:
  // Payloads and ASCII lines above max_payload_bytes are errors.
  explicit AuditRemoteDecoder(size_t max_payload_bytes = kMaxPayloadBytes)
      : max_payload_(max_payload_bytes) {}

  void Feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next complete item; false when more bytes are needed (or after an error).
  bool Next(Item* item);
  // Bytes received but not yet returned as an item (a partial frame at EOF
  // means the peer stopped mid-frame).
  size_t buffered() const { return buffer_.size() - start_; }

 private:
  bool NextManaged(Item* item);
  bool NextLine(Item* item);
  bool Fail(Item* item, std::string why);
  void Consume(size_t n);

  size_t max_payload_;
  std::string buffer_;
  size_t start_ = 0;
  bool failed_ = false;
};

}  // namespace trailkeep::auditremote
