// The seal MAC of one stored event (docs/formats/seal.md, 'Canonical input').
//
// MAC = HMAC-SHA-256(K_period, input), input =
//   "trailkeep-seal-v1" 0x00
//   chain (u32 BE) | period (u64 BE) | seq (u64 BE)
//   len(host) (u32 BE) | host
//   prev_mac (32 bytes: the MAC of seq - 1 in the chain, zeros for seq 1)
//   the Event's deterministic protobuf serialization with ingest_seq = 0 and
//   `seal` unset: every field the collector stores, the derived ones
//   (classification, enrichment, peer, hostname_mismatch, a tick's heads)
//   included. ingest_seq is left out because the store assigns it after the
//   seal; the chain's own seq orders a host's events instead.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace trailkeep::v1 {
class Event;
class SealElement;
}  // namespace trailkeep::v1

namespace trailkeep {

// `event` must have ingest_seq 0 and no seal (as the seal stage sees it).
std::string SealInput(const v1::Event& event, uint32_t chain, uint64_t period, uint64_t seq,
                      std::string_view prev_mac);
std::string SealMac(std::string_view key, std::string_view input);

// The MAC a stored event's seal element should hold under `key` (of the
// element's period), given the previous MAC of its chain.
std::string StoredSealMac(std::string_view key, const v1::Event& stored, std::string_view prev_mac);

}  // namespace trailkeep
