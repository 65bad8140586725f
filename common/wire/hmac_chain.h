// The HMAC chain of agent events (docs/formats/hmac_chain.md is the spec;
// this header holds its constants and the two operations both ends need).
//
// Every agent event is an RFC 5424 message whose structured data carries
//   [tk@<PEN> e="<epoch>" s="<seq>" p="<prev mac hex>" m="<mac hex>"]
// with e and s in decimal, p and m as 64 lower-case hex digits. m is
// HMAC-SHA256 under the host's key over the whole message exactly as sent
// with the value of m empty (`m=""`). The first event of an epoch has s = 1
// and p = 64 zeros. Heartbeats carry the chain head instead:
//   [tkhb@<PEN> e="<epoch>" s="<head seq>" h="<head mac hex>" m="<mac hex>"]
// and are authenticated the same way; they are not chain members.
// A key rotation (docs/formats/hmac_chain.md, 'Key rotation'): the event at
// which a new key takes over, and the first event of every epoch, also carry
//   [tkkey@<PEN> id="<key id>"]
// naming the key it is MAC'd with; the key id is public (KeyId()).
//
// Pure code: no I/O but LoadHmacKey(), which reads a key file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/bytes.h"  // LowerHex, ParseLowerHex: the chain's MACs in hex
#include "common/base/status.h"

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

class HmacSha256Key;

inline constexpr uint32_t kDefaultEnterpriseNumber = 32473;
inline constexpr size_t kMacBytes = 32;
inline constexpr size_t kHmacKeyBytes = 32;
inline constexpr size_t kKeyIdBytes = 8;  // 16 hex digits

// "tk@32473" and "tkhb@32473" for the given private enterprise number.
std::string ChainSdId(uint32_t enterprise_number);
std::string HeartbeatSdId(uint32_t enterprise_number);
std::string KeySdId(uint32_t enterprise_number);  // "tkkey@32473"

// A key's public id: lower-case hex of the first 8 bytes of
// HMAC-SHA256(key, "trailkeep key id"). Both ends compute it; it reveals
// nothing of the key.
std::string KeyId(std::string_view key);
bool IsKeyId(std::string_view text);  // 16 lower-case hex digits
// `[tkkey@32473 id="<key id>"]`
std::string FormatKeyElement(uint32_t enterprise_number, std::string_view key_id);

// One link of the chain, as carried on the wire. MACs are raw 32 bytes.
struct ChainLink {
  uint64_t epoch = 0;
  uint64_t seq = 0;
  std::string prev_mac;  // all zeros for seq 1
  std::string mac;
};

// The chain element text with m's value empty, e.g.
// `[tk@32473 e="1" s="1" p="00..00" m=""]`.
std::string FormatChainElement(uint32_t enterprise_number, uint64_t epoch, uint64_t seq,
                               std::string_view prev_mac);
std::string FormatHeartbeatElement(uint32_t enterprise_number, uint64_t epoch, uint64_t head_seq,
                                   std::string_view head_mac);

// Signs a message that contains exactly one `m=""` (the one of the chain or
// heartbeat element): returns the message with the MAC's hex filled in, and
// the raw MAC in *mac.
std::string SignMessage(std::string_view key, std::string_view unsigned_message, std::string* mac);

// The HMAC-SHA256 of `data` under `key` (32 raw bytes).
std::string HmacSha256(std::string_view key, std::string_view data);

// What a received event's structured data says about the chain.
enum class ChainKind { kNone, kEvent, kHeartbeat };
struct ChainFields {
  ChainKind kind = ChainKind::kNone;
  ChainLink link;      // for heartbeats: seq = head seq, prev_mac = head mac
  std::string key_id;  // an event's tkkey element: the key it names ("" when none)
  std::string error;   // malformed element: why (kind stays as found)
};
// Reads the chain or heartbeat element of a parsed event.
ChainFields ExtractChain(const v1::Event& event, uint32_t enterprise_number);

// The collector's reading of a parsed message's chain element, shared by the
// ingest pipeline and `trailkeep verify --export` so both derive the same
// fields: records `enterprise_number` on the event, sets the chain fields and
// the heartbeat flag from the element, and appends a malformed element's
// error to parse_error. Authenticates nothing; returns what it found.
ChainFields ApplyChainElement(uint32_t enterprise_number, v1::Event* event);

// True when `raw` (the message exactly as received) carries `fields.link.mac`
// as m's value and its MAC under `key` is that value.
bool VerifyMessageMac(std::string_view key, std::string_view raw, const ChainFields& fields);
// The same with the key's HMAC set up already (the collector's hot path).
bool VerifyMessageMac(const HmacSha256Key& key, std::string_view raw, const ChainFields& fields);

// Reads a key file: 64 hex digits (32 bytes), optional trailing newline.
// Refuses files readable or writable by group or others (mode must be 0600
// or stricter) when `require_private` is set. A missing file is NotFound
// ("no HMAC key: PATH does not exist"); one that exists but cannot be read
// says so ("cannot read PATH: Permission denied").
Result<std::string> LoadHmacKey(const std::string& path, bool require_private = true);
// Writes a fresh random key file with mode 0600 (fails if it exists).
Status WriteNewHmacKey(const std::string& path);

}  // namespace trailkeep
